# isa_args.sh — the --isa LIST and --precision LIST options shared by the benchmarks that can run
# on several oneDNN paths (nn_vs_ort.sh, search_latency.sh). Source it, then:
#   take_isa_args NAME "$@"; shift "$isa_shift".
# Sets isas (an array: native, avx2, ...; default native), precisions (an array of
# FACESEARCH_PRECISION values: auto, fp32, bf16; default: $FACESEARCH_PRECISION, else auto) and
# isa_shift (arguments consumed). The two options come first, in either order.
take_isa_args() {
  local name=$1; shift
  isas=(native)
  precisions=("${FACESEARCH_PRECISION:-auto}")
  isa_shift=0
  while [[ ${1:-} == --isa || ${1:-} == --precision ]]; do
    [[ -n ${2:-} ]] || { echo "$name: $1 needs a list, e.g. native,avx2 or fp32,bf16" >&2; exit 2; }
    if [[ $1 == --isa ]]; then IFS=, read -r -a isas <<<"$2"; else IFS=, read -r -a precisions <<<"$2"; fi
    isa_shift=$((isa_shift + 2))
    shift 2
  done
  local isa p
  for isa in "${isas[@]}"; do
    case ${isa,,} in
      native | sse41 | avx | avx2 | avx2_vnni | avx512_core | avx512_core_vnni | avx512_core_bf16 | avx512_core_amx) ;;
      *) echo "$name: --isa: unknown ISA '$isa' (native, avx2, avx512_core, ...)" >&2; exit 2 ;;
    esac
  done
  for p in "${precisions[@]}"; do
    case $p in
      auto | fp32 | bf16) ;;
      *) echo "$name: --precision: unknown precision '$p' (auto, fp32, bf16)" >&2; exit 2 ;;
    esac
  done
  # entries: every ISA with every precision, as "ISA/PRECISION"
  entries=()
  for isa in "${isas[@]}"; do
    for p in "${precisions[@]}"; do entries+=("$isa/$p"); done
  done
}

# with_entry ISA/PRECISION CMD...: runs CMD with oneDNN capped at ISA (native: as the environment
# says) and FACESEARCH_PRECISION set to PRECISION
with_entry() {
  local isa=${1%/*} p=${1#*/}; shift
  if [[ ${isa,,} == native ]]; then
    env -u DNNL_MAX_CPU_ISA FACESEARCH_PRECISION="$p" "$@"
  else
    env -u DNNL_MAX_CPU_ISA ONEDNN_MAX_CPU_ISA="${isa^^}" FACESEARCH_PRECISION="$p" "$@"
  fi
}
