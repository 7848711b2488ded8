/*
 * commands.c — the table of commands: names, help texts and the function that runs each.
 * Help texts mirror SPEC.md §2; keep them in step with it.
 */
#include <stddef.h>

#include "cli.h"

const cli_command cli_commands[] = {
    {"search", "find every photo in which the query person appears",
     "usage: facesearch search -q QUERY [-q QUERY...] [-t DIR...] [options]\n"
     "\n"
     "Find the person in QUERY. With -t, the folders are indexed first (only new or changed files\n"
     "are processed) and results are restricted to them; without -t the whole index is searched.\n"
     "\n"
     "  -q, --query IMAGE      photo of the person to find; repeatable, or a folder of such\n"
     "                         photos: several photos of one person (other ages, glasses)\n"
     "      --match HOW        with several query photos: max (a face matches by its best\n"
     "                         similarity to any of them; the default) or mean (to their\n"
     "                         template, the mean of their embeddings)\n"
     "      --person NAME      instead of -q: every photo of a person (see facesearch people)\n"
     "  -t, --target DIR       folder to search (repeatable)\n"
     "      --no-index         search the folders on the fly, writing nothing\n"
     "      --top K            at most K matches, best first (default 50; 0 = no limit)\n"
     "      --threshold T      minimum cosine similarity in [-1, 1] (default: the pack's)\n"
     "      --min-size PX      ignore faces smaller than PX pixels (default 20)\n"
     "      --face WHICH       query face: largest, all, or its number (default largest)\n"
     "  -o, --output DIR       write a crop of every matched face into DIR (new files only:\n"
     "                         a name already taken gets a counter)\n"
     "      --json             JSON Lines, one object per match\n"
     "      --csv              CSV with a header line\n"
     "\n"
     "      --hidden           also search hidden files and folders\n"
     "      --shards DIR       search the sharded library DIR, one MPI rank per shard or more:\n"
     "                         mpirun -np N facesearch search --shards DIR -q QUERY\n"
     "                         (or --person NAME: a person of the library, see people)\n"
     "\n"
     "Exit status: 0 a match was found, 1 no match, 2 an error.\n",
     cmd_search},
    {"index", "add or refresh folders in the index",
     "usage: facesearch index DIR... [options]\n"
     "\n"
     "Add folders to the index, recursively. Unchanged files are skipped (size and mtime, then\n"
     "content hash); entries of files that disappeared under the folders are removed.\n"
     "\n"
     "      --hidden           also walk hidden folders\n"
     "      --shards DIR       fill the sharded library DIR (made for N shards, one per MPI\n"
     "                         rank): mpirun -np N facesearch index --shards DIR FOLDER...\n"
     "                         A photo's content fixes its shard; each shard is an index.\n"
     "\n"
     "The index keeps every face the detector finds; search --min-size filters them.\n"
     "\n"
     "Ctrl-C stops after the current batch; everything done so far is kept.\n"
     "Exit status: 0, or 2 if some photos could not be read (they are listed on stderr).\n",
     cmd_index},
    {"detect", "print the faces found in each image",
     "usage: facesearch detect IMAGE... [options]\n"
     "\n"
     "      --json             one JSON object per image\n"
     "      --draw OUT         write a copy with boxes and landmarks drawn: the new file OUT, or\n"
     "                         into the folder OUT (several images, or OUT/); never over an\n"
     "                         existing file (a name already taken gets a counter)\n"
     "      --min-size PX      ignore faces smaller than PX pixels (default 20)\n"
     "      --det-threshold T  detector score threshold\n",
     cmd_detect},
    {"compare", "similarity between the largest faces of two images",
     "usage: facesearch compare IMAGE_A IMAGE_B [--json]\n"
     "\n"
     "Prints the cosine similarity of the largest face of each image and whether it reaches the\n"
     "pack's threshold. Exit status: 0 match, 1 no match, 2 error.\n",
     cmd_compare},
    {"remove", "drop files or folders from the index",
     "usage: facesearch remove PATH...\n"
     "\n"
     "Drops the photos at PATH, or every photo under the folder PATH, from the index.\n"
     "The photos themselves are not touched.\n",
     cmd_remove},
    {"stats", "what the index holds",
     "usage: facesearch stats [--json]\n"
     "\n"
     "Files, faces, folders, model pack and size on disk of the index.\n",
     cmd_stats},
    {"people", "group the indexed faces into persons; name, merge, fix them",
     "usage: facesearch people SUBCOMMAND [options]\n"
     "\n"
     "  update [--rebuild]        group the faces not grouped yet (--rebuild: all of them; your\n"
     "                            names, merges, moves and rejects are always kept)\n"
     "      --algorithm graph|linkage  threshold graph + Chinese whispers (default), or\n"
     "                            average linkage\n"
     "      --threshold T         similarity that joins two faces (default: the pack's)\n"
     "      --min-quality Q       faces of lower quality (0-1) are unsure (default 0.5; 0: none)\n"
     "  list                      id, name, faces, photos and the best face of every person\n"
     "  show ID|NAME              the faces of a person (with the face ids the commands take)\n"
     "  unsure                    the faces left out as unsure (tiny, blurred, turned away,\n"
     "                            doubtful, not face-like)\n"
     "  name ID|NAME \"Name\"       name a person (confirms the faces it holds)\n"
     "  merge A B                 B's faces become A's (B is deleted)\n"
     "  move FACE --to ID|NAME|new  put a face in another (or a new) person, for good\n"
     "  reject FACE --from ID|NAME  take a face out of a person; it never goes back there\n"
     "  forget ID|NAME            delete a person; its faces are grouped again by the next update\n"
     "  import OTHER_INDEX_DIR    bring the names and decisions of another index (e.g. the one of\n"
     "                            the model pack used before) into this one\n"
     "\n"
     "      --json                JSON output, one object per line\n"
     "      --shards DIR          the people of the sharded library DIR: update, list, show,\n"
     "                            unsure, name, merge, move, reject and forget (update, show,\n"
     "                            unsure, move and reject under mpirun: mpirun -np N facesearch\n"
     "                            people update --shards DIR). Each shard groups its faces\n"
     "                            and the library joins its persons across the shards; move\n"
     "                            and reject need --from and take the face with the faces its\n"
     "                            shard grouped with it (an unsure face moves without --from)\n"
     "\n"
     "Two faces of one photo are never one person. Tiny, blurred or doubtful faces are\n"
     "'unsure' and left out of automatic grouping. Decisions are kept by the photo's content and\n"
     "the face's box: they survive re-indexing and moved photos. See also search --person NAME.\n",
     cmd_people},
    {"models", "list installed model packs and verify their files",
     "usage: facesearch models\n"
     "\n"
     "Lists the model packs found on this machine, verifies each file against its sha256, and\n"
     "shows the active pack (--models PACK). Exit status 2 if the active pack fails to verify.\n",
     cmd_models},
    {"serve", "search, browse and index from a browser (a web page and a JSON API)",
     "usage: facesearch serve --root DIR... [options]\n"
     "\n"
     "Serves a web page and the JSON API under /api/v1/ (see SPEC.md) over the index. Only photos\n"
     "under the --root folders are indexed and shown. Runs until Ctrl-C.\n"
     "\n"
     "      --root DIR         a folder whose photos it may index and show (repeatable; needed)\n"
     "      --host ADDR        address to listen on (default 127.0.0.1: this machine only)\n"
     "      --port N           port (default 8080; 0 = any free port)\n"
     "      --token T          required of every API request (header X-Facesearch-Token, or the\n"
     "                         page's login); needed to listen beyond this machine. Also read\n"
     "                         from $FACESEARCH_TOKEN\n"
     "      --workers N        searches and pictures made at once (default 2; more wait or get\n"
     "                         503)\n"
     "      --max-upload BYTES largest request body (default 20 MiB)\n"
     "      --max-pixels N     largest photo, uploaded or indexed (default 50 megapixels)\n"
     "      --max-decode-ms N  longest decoding of a photo, uploaded or indexed (default 10000)\n"
     "      --shards DIR       serve the sharded library DIR: mpirun -np N facesearch serve\n"
     "                         --shards DIR --root ...; rank 0 serves, every rank searches its\n"
     "                         shards. Index runs and statistics are each shard's (501)\n"
     "      --shard-wait-ms N  how long a search waits for a rank (default 3000); a rank that\n"
     "                         does not answer in time fails it (503), and the searches after\n"
     "                         it at once, until it answers again\n",
     cmd_serve},
    {NULL, NULL, NULL, NULL},
};
