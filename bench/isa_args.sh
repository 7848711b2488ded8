# isa_args.sh — the --isa LIST option shared by the benchmarks that can run on several oneDNN
# paths (nn_vs_ort.sh, search_latency.sh). Source it, then: take_isa_args NAME "$@"; shift "$isa_shift".
# Sets isas (an array: native, avx2, ...; default native) and isa_shift (arguments consumed).
take_isa_args() {
  local name=$1; shift
  isas=(native)
  isa_shift=0
  if [[ ${1:-} == --isa ]]; then
    [[ -n ${2:-} ]] || { echo "$name: --isa needs a list, e.g. native,avx2" >&2; exit 2; }
    IFS=, read -r -a isas <<<"$2"
    isa_shift=2
  fi
  local isa
  for isa in "${isas[@]}"; do
    case ${isa,,} in
      native | sse41 | avx | avx2 | avx2_vnni | avx512_core | avx512_core_vnni | avx512_core_bf16 | avx512_core_amx) ;;
      *) echo "$name: --isa: unknown ISA '$isa' (native, avx2, avx512_core, ...)" >&2; exit 2 ;;
    esac
  done
}
