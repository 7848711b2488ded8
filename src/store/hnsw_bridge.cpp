/*
 * hnsw_bridge.cpp — the only C++ file: wraps hnswlib's HierarchicalNSW behind the C interface of
 * hnsw_bridge.h. Nodes store slot numbers (8 bytes), not vectors; the distance function looks the
 * int8 codes up in the vector index (see hnsw_bridge.h). Every entry point catches exceptions.
 * hnswlib builds, saves and loads the graph; searching is done here (hnsw_search) over
 * hnswlib's layers, because a query is bound by memory latency: each node visited costs a miss on
 * its graph node (for its slot) and on its 512-byte code, and hnswlib's own search can prefetch
 * neither (the code is outside its memory). Ours prefetches all the new neighbours of a node at
 * once, then their codes, so that the misses overlap.
 */
#include "store/hnsw_bridge.h"
#include "util/vec.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <thread>
#include <vector>

/* hnswlib's SSE/AVX code is only for its own float spaces (we bring our own distance) and its
 * prefetches read one element past a link list (harmless, but flagged by AddressSanitizer). */
#define NO_MANUAL_VECTORIZATION
#include <hnswlib/hnswlib.h>

namespace {

/* What a query passes where the graph expects a stored node: the tag tells them apart. */
struct query_ref {
    uint64_t tag;          /* QUERY_TAG */
    const int8_t *code;
    float scale;
};
constexpr uint64_t QUERY_TAG = std::numeric_limits<uint64_t>::max();

inline const int8_t *resolve(const void *p, const hnsw_codes *src, float *scale)
{
    uint64_t slot;
    std::memcpy(&slot, p, sizeof slot);
    if (slot == QUERY_TAG) {
        const query_ref *q = static_cast<const query_ref *>(p);
        *scale = q->scale;
        return q->code;
    }
    *scale = (*src->scales)[slot];
    return *src->codes + slot * (size_t)src->dim;
}

float code_distance(const void *a, const void *b, const void *param)
{
    const hnsw_codes *src = static_cast<const hnsw_codes *>(param);
    float sa, sb;
    const int8_t *ca = resolve(a, src, &sa), *cb = resolve(b, src, &sb);
    int32_t dot = util_code_dot(ca, cb, (size_t)src->dim);
    return 1.0f - sa * sb * (float)dot;
}

class slot_space : public hnswlib::SpaceInterface<float> {
public:
    explicit slot_space(const hnsw_codes *src) : src_(*src) {}
    size_t get_data_size() override { return sizeof(uint64_t); }
    hnswlib::DISTFUNC<float> get_dist_func() override { return code_distance; }
    void *get_dist_func_param() override { return &src_; }
private:
    hnsw_codes src_;
};

} // namespace

struct hnsw_graph {
    slot_space space;
    hnswlib::HierarchicalNSW<float> *graph = nullptr;
    void *map = nullptr; /* hnsw_map: the file, which the graph's arrays point into */
    size_t map_size = 0;
    explicit hnsw_graph(const hnsw_codes *src) : space(src) {}
    ~hnsw_graph()
    {
        if (graph && map) { /* the layers are the mapping's: hnswlib must not free them */
            graph->data_level0_memory_ = nullptr;
            std::fill(graph->element_levels_.begin(), graph->element_levels_.end(), 0);
        }
        delete graph;
        if (map)
            munmap(map, map_size);
    }
};

namespace {

/* hnswlib's file (HierarchicalNSW::saveIndex): a header of these fields, then the layer-0
 * records of cur_element_count nodes, then for each node its upper-layer lists, each preceded
 * by its size in bytes (0: none). */
struct file_header {
    size_t offset_level0, max_elements, count, size_per_element, label_offset, offset_data;
    int max_level;
    hnswlib::tableint enter_point;
    size_t max_m, max_m0, m;
    double mult;
    size_t ef_construction;
};
constexpr size_t HEADER_BYTES = 6 * sizeof(size_t) + sizeof(int) + sizeof(hnswlib::tableint) +
                                3 * sizeof(size_t) + sizeof(double) + sizeof(size_t);

template <typename T> void take(const char *&p, T *out)
{
    std::memcpy(out, p, sizeof *out);
    p += sizeof *out;
}

/* Fills g (made by the empty constructor) from the mapped file at base (size bytes): the
 * layer-0 records and the upper lists stay in the mapping. false if the file is not a graph of
 * slots as hnsw_save writes them. */
bool adopt(hnswlib::HierarchicalNSW<float> *g, slot_space *space, char *base, size_t size)
{
    if (size < HEADER_BYTES)
        return false;
    file_header h;
    const char *p = base;
    take(p, &h.offset_level0), take(p, &h.max_elements), take(p, &h.count);
    take(p, &h.size_per_element), take(p, &h.label_offset), take(p, &h.offset_data);
    take(p, &h.max_level), take(p, &h.enter_point), take(p, &h.max_m), take(p, &h.max_m0);
    take(p, &h.m), take(p, &h.mult), take(p, &h.ef_construction);
    const size_t data = space->get_data_size();
    const size_t links0 = h.max_m0 * sizeof(hnswlib::tableint) + sizeof(unsigned);
    const size_t links = h.max_m * sizeof(hnswlib::tableint) + sizeof(unsigned);
    if (h.offset_level0 != 0 || h.offset_data != links0 || h.label_offset != links0 + data ||
        h.size_per_element != links0 + data + sizeof(hnswlib::labeltype) || h.max_m0 > 4096 ||
        h.max_m > 4096 || h.max_level < 0 || h.count > h.max_elements ||
        (h.count && h.enter_point >= h.count) ||
        h.count > (size - HEADER_BYTES) / h.size_per_element)
        return false;
    g->max_elements_ = h.count ? h.count : 1;
    g->cur_element_count = 0; /* until the lists are in place (the destructor walks them) */
    g->data_level0_memory_ = nullptr;
    g->linkLists_ = nullptr;
    g->visited_list_pool_ = nullptr;
    g->element_levels_ = std::vector<int>(h.count);
    g->linkLists_ = static_cast<char **>(std::calloc(h.count ? h.count : 1, sizeof(char *)));
    g->visited_list_pool_ = new hnswlib::VisitedListPool(1, g->max_elements_);
    if (!g->linkLists_)
        throw std::bad_alloc();
    size_t at = HEADER_BYTES + h.count * h.size_per_element;
    for (size_t i = 0; i < h.count; i++) {
        unsigned bytes;
        if (size - at < sizeof bytes)
            return false;
        std::memcpy(&bytes, base + at, sizeof bytes);
        at += sizeof bytes;
        if (bytes % links != 0 || bytes > size - at)
            return false;
        g->element_levels_[i] = (int)(bytes / links);
        g->linkLists_[i] = bytes ? base + at : nullptr;
        at += bytes;
    }
    if (at != size || (h.count && g->element_levels_[h.enter_point] < h.max_level))
        return false;
    g->data_level0_memory_ = base + HEADER_BYTES;
    g->cur_element_count = h.count;
    g->size_data_per_element_ = h.size_per_element;
    g->size_links_per_element_ = links;
    g->size_links_level0_ = links0;
    g->num_deleted_ = 0;
    g->M_ = h.m;
    g->maxM_ = h.max_m;
    g->maxM0_ = h.max_m0;
    g->ef_construction_ = h.ef_construction;
    g->ef_ = 10;
    g->mult_ = h.mult;
    g->revSize_ = 1.0 / h.mult;
    g->maxlevel_ = h.max_level;
    g->enterpoint_node_ = h.enter_point;
    g->offsetData_ = h.offset_data;
    g->offsetLevel0_ = h.offset_level0;
    g->label_offset_ = h.label_offset;
    g->data_size_ = data;
    g->fstdistfunc_ = space->get_dist_func();
    g->dist_func_param_ = space->get_dist_func_param();
    return true;
}

/* Whether every value a search follows is in range: each node's slot below slot_count, each list
 * no longer than its layer allows, each neighbour an existing node that has that layer, and the
 * entry point on the top layer. hnsw_search trusts them all. */
bool links_valid(const hnswlib::HierarchicalNSW<float> *g, uint64_t slot_count)
{
    const size_t count = g->cur_element_count;
    if (count == 0)
        return true;
    if (g->enterpoint_node_ >= count || g->element_levels_[g->enterpoint_node_] != g->maxlevel_)
        return false;
    for (size_t i = 0; i < count; i++) {
        uint64_t slot;
        std::memcpy(&slot, g->getDataByInternalId((hnswlib::tableint)i), sizeof slot);
        if (slot >= slot_count)
            return false;
        const int levels = g->element_levels_[i];
        if (levels < 0 || levels > g->maxlevel_)
            return false;
        for (int level = 0; level <= levels; level++) {
            const unsigned *ll = level == 0 ? g->get_linklist0((hnswlib::tableint)i)
                                            : g->get_linklist((hnswlib::tableint)i, level);
            const unsigned cnt = g->getListCount(const_cast<unsigned *>(ll));
            if (cnt > (level == 0 ? g->maxM0_ : g->maxM_))
                return false;
            const hnswlib::tableint *nb = ll + 1;
            /* at layer 0 every node is (its level is checked >= 0 at its own turn): no random
             * read of its level, most of the links being there */
            for (unsigned j = 0; j < cnt; j++)
                if (nb[j] >= count || (level > 0 && g->element_levels_[nb[j]] < level))
                    return false;
        }
    }
    return true;
}

} // namespace

extern "C" {

hnsw_graph *hnsw_new(const hnsw_codes *src, size_t capacity, int m, int ef_construction)
{
    hnsw_graph *h = nullptr;
    try {
        h = new hnsw_graph(src);
        h->graph = new hnswlib::HierarchicalNSW<float>(&h->space, capacity ? capacity : 1,
                                                       (size_t)m, (size_t)ef_construction, 100);
        return h;
    } catch (...) {
        delete h;
        return nullptr;
    }
}

hnsw_graph *hnsw_load(const hnsw_codes *src, const char *path, uint64_t slot_count)
{
    hnsw_graph *h = nullptr;
    try {
        h = new hnsw_graph(src);
        h->graph = new hnswlib::HierarchicalNSW<float>(&h->space, std::string(path));
        if (h->graph->data_size_ != sizeof(uint64_t) || !links_valid(h->graph, slot_count)) {
            delete h;
            return nullptr;
        }
        return h;
    } catch (...) {
        delete h;
        return nullptr;
    }
}

hnsw_graph *hnsw_map(const hnsw_codes *src, void *map, size_t size, uint64_t slot_count)
{
    hnsw_graph *h = nullptr;
    try {
        h = new hnsw_graph(src);
    } catch (...) {
        munmap(map, size);
        return nullptr;
    }
    h->map = map; /* the graph's from here: unmapped by its destructor */
    h->map_size = size;
    try {
        h->graph = new hnswlib::HierarchicalNSW<float>(&h->space);
        /* the empty constructor leaves the fields the destructor reads unset: set them first */
        h->graph->cur_element_count = 0;
        h->graph->data_level0_memory_ = nullptr;
        h->graph->linkLists_ = nullptr;
        h->graph->visited_list_pool_ = nullptr;
        if (!adopt(h->graph, &h->space, static_cast<char *>(h->map), h->map_size) ||
            !links_valid(h->graph, slot_count)) {
            delete h;
            return nullptr;
        }
        return h;
    } catch (...) {
        delete h;
        return nullptr;
    }
}

int hnsw_mapped(const hnsw_graph *h)
{
    return h->map != nullptr;
}

void hnsw_free(hnsw_graph *h)
{
    delete h;
}

size_t hnsw_count(const hnsw_graph *h)
{
    return h->graph->cur_element_count;
}

int hnsw_add_range(hnsw_graph *h, uint64_t from, uint64_t to, int threads)
{
    try {
        if (to <= from)
            return 0;
        if (h->map)
            return -1; /* read-only */
        if (h->graph->max_elements_ < to)
            h->graph->resizeIndex(to + to / 4);
        std::atomic<uint64_t> next(from);
        std::atomic<bool> failed(false);
        auto work = [&]() {
            try {
                for (uint64_t s; (s = next.fetch_add(1)) < to && !failed.load();)
                    h->graph->addPoint(&s, (hnswlib::labeltype)s);
            } catch (...) {
                failed.store(true);
            }
        };
        if (threads < 1)
            threads = 1;
        std::vector<std::thread> pool;
        for (int i = 1; i < threads; i++)
            pool.emplace_back(work);
        work();
        for (auto &t : pool)
            t.join();
        return failed.load() ? -1 : 0;
    } catch (...) {
        return -1;
    }
}

int hnsw_search(const hnsw_graph *h, const int8_t *code, float scale, size_t k, size_t ef,
                uint64_t *slots, size_t *n)
{
    *n = 0;
    hnswlib::HierarchicalNSW<float> *g = h->graph;
    hnswlib::VisitedList *vl = nullptr;
    try {
        if (g->cur_element_count == 0 || k == 0)
            return 0;
        if (ef < k)
            ef = k;
        const hnsw_codes *src = static_cast<const hnsw_codes *>(g->dist_func_param_);
        const size_t dim = (size_t)src->dim;
        const int8_t *codes = *src->codes;
        const float *scales = *src->scales;
        auto slot_of = [g](hnswlib::tableint id) {
            uint64_t slot;
            std::memcpy(&slot, g->getDataByInternalId(id), sizeof slot);
            return slot;
        };
        auto distance = [&](uint64_t slot) {
            return 1.0f -
                   scale * scales[slot] * (float)util_code_dot(code, codes + slot * dim, dim);
        };

        /* Upper layers: greedy descent to the closest node, as hnswlib does. */
        hnswlib::tableint cur = g->enterpoint_node_;
        float cur_d = distance(slot_of(cur));
        for (int level = g->maxlevel_; level > 0; level--) {
            for (bool changed = true; changed;) {
                changed = false;
                const unsigned *ll = g->get_linklist(cur, level);
                const hnswlib::tableint *nb = ll + 1;
                for (unsigned j = 0, cnt = g->getListCount(const_cast<unsigned *>(ll)); j < cnt;
                     j++) {
                    float d = distance(slot_of(nb[j]));
                    if (d < cur_d) {
                        cur_d = d;
                        cur = nb[j];
                        changed = true;
                    }
                }
            }
        }

        /* Layer 0: beam search keeping the ef closest. candidates: min-heap on distance (of
         * internal ids); best: max-heap (of slots), its top is the worst kept. */
        typedef std::pair<float, uint64_t> item;
        std::vector<item> candidates, best;
        candidates.reserve(ef * 4);
        best.reserve(ef + 1);
        auto farther = [](const item &a, const item &b) { return a.first > b.first; };
        auto closer = [](const item &a, const item &b) { return a.first < b.first; };
        vl = g->visited_list_pool_->getFreeVisitedList();
        hnswlib::vl_type *visited = vl->mass, tag = vl->curV;
        visited[cur] = tag;
        candidates.push_back({cur_d, cur});
        best.push_back({cur_d, slot_of(cur)});
        hnswlib::tableint fresh[1024];
        uint64_t fresh_slot[1024];
        while (!candidates.empty()) {
            item c = candidates.front();
            if (c.first > best.front().first && best.size() >= ef)
                break;
            std::pop_heap(candidates.begin(), candidates.end(), farther);
            candidates.pop_back();
            const unsigned *ll = g->get_linklist0((hnswlib::tableint)c.second);
            const hnswlib::tableint *nb = ll + 1;
            unsigned cnt = std::min<unsigned>(g->getListCount(const_cast<unsigned *>(ll)), 1024);
            size_t nf = 0;
            for (unsigned j = 0; j < cnt; j++) { /* new neighbours: fetch their nodes */
                if (visited[nb[j]] == tag)
                    continue;
                visited[nb[j]] = tag;
                fresh[nf++] = nb[j];
                __builtin_prefetch(g->getDataByInternalId(nb[j]));
            }
            for (size_t j = 0; j < nf; j++) { /* then their codes and scales */
                uint64_t s = fresh_slot[j] = slot_of(fresh[j]);
                const int8_t *cp = codes + s * dim;
                for (size_t o = 0; o < dim; o += 64)
                    __builtin_prefetch(cp + o);
                __builtin_prefetch(scales + s);
            }
            for (size_t j = 0; j < nf; j++) {
                float d = distance(fresh_slot[j]);
                if (best.size() < ef || d < best.front().first) {
                    candidates.push_back({d, fresh[j]});
                    std::push_heap(candidates.begin(), candidates.end(), farther);
                    best.push_back({d, fresh_slot[j]});
                    std::push_heap(best.begin(), best.end(), closer);
                    if (best.size() > ef) {
                        std::pop_heap(best.begin(), best.end(), closer);
                        best.pop_back();
                    }
                }
            }
        }
        g->visited_list_pool_->releaseVisitedList(vl);
        vl = nullptr;
        std::sort(best.begin(), best.end(), closer);
        size_t m = std::min(k, best.size());
        for (size_t i = 0; i < m; i++)
            slots[i] = best[i].second;
        *n = m;
        return 0;
    } catch (...) {
        if (vl)
            g->visited_list_pool_->releaseVisitedList(vl);
        *n = 0;
        return -1;
    }
}

int hnsw_save(const hnsw_graph *h, const char *path)
{
    try {
        /* hnswlib writes through an ofstream and checks nothing (a full disk leaves a short
         * file): the file's size must be what was written */
        const auto *g = h->graph;
        h->graph->saveIndex(std::string(path));
        uint64_t expected =
            HEADER_BYTES + (uint64_t)g->cur_element_count * g->size_data_per_element_;
        for (size_t i = 0; i < g->cur_element_count; i++)
            expected += sizeof(unsigned) +
                        (uint64_t)g->element_levels_[i] * g->size_links_per_element_;
        struct stat sb;
        return stat(path, &sb) == 0 && (uint64_t)sb.st_size == expected ? 0 : -1;
    } catch (...) {
        return -1;
    }
}

size_t hnsw_memory(const hnsw_graph *h)
{
    const auto *g = h->graph;
    size_t bytes = g->max_elements_ * g->size_data_per_element_ + g->max_elements_ * sizeof(void *);
    for (size_t i = 0; i < g->cur_element_count; i++)
        if (g->element_levels_[i] > 0)
            bytes += g->size_links_per_element_ * (size_t)g->element_levels_[i];
    return bytes;
}

} // extern "C"
