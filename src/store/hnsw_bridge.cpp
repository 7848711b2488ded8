/*
 * hnsw_bridge.cpp — the only C++ file: wraps hnswlib's HierarchicalNSW behind the C interface of
 * hnsw_bridge.h. Nodes store slot numbers (8 bytes), not vectors; the distance function looks the
 * int8 codes up in the vector index (see hnsw_bridge.h). Every entry point catches exceptions.
 */
#include "store/hnsw_bridge.h"

#include <atomic>
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

inline const int8_t *resolve(const void *p, const fs_hnsw_codes *src, float *scale)
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
    const fs_hnsw_codes *src = static_cast<const fs_hnsw_codes *>(param);
    float sa, sb;
    const int8_t *ca = resolve(a, src, &sa), *cb = resolve(b, src, &sb);
    int32_t dot = fs_code_dot(ca, cb, (size_t)src->dim);
    return 1.0f - sa * sb * (float)dot;
}

class slot_space : public hnswlib::SpaceInterface<float> {
public:
    explicit slot_space(const fs_hnsw_codes *src) : src_(*src) {}
    size_t get_data_size() override { return sizeof(uint64_t); }
    hnswlib::DISTFUNC<float> get_dist_func() override { return code_distance; }
    void *get_dist_func_param() override { return &src_; }
private:
    fs_hnsw_codes src_;
};

} // namespace

struct fs_hnsw {
    slot_space space;
    hnswlib::HierarchicalNSW<float> *graph = nullptr;
    explicit fs_hnsw(const fs_hnsw_codes *src) : space(src) {}
    ~fs_hnsw() { delete graph; }
};

extern "C" {

fs_hnsw *fs_hnsw_new(const fs_hnsw_codes *src, size_t capacity, int m, int ef_construction)
{
    fs_hnsw *h = nullptr;
    try {
        h = new fs_hnsw(src);
        h->graph = new hnswlib::HierarchicalNSW<float>(&h->space, capacity ? capacity : 1,
                                                       (size_t)m, (size_t)ef_construction, 100);
        return h;
    } catch (...) {
        delete h;
        return nullptr;
    }
}

fs_hnsw *fs_hnsw_load(const fs_hnsw_codes *src, const char *path)
{
    fs_hnsw *h = nullptr;
    try {
        h = new fs_hnsw(src);
        h->graph = new hnswlib::HierarchicalNSW<float>(&h->space, std::string(path));
        if (h->graph->data_size_ != sizeof(uint64_t)) {
            delete h;
            return nullptr;
        }
        return h;
    } catch (...) {
        delete h;
        return nullptr;
    }
}

void fs_hnsw_free(fs_hnsw *h)
{
    delete h;
}

size_t fs_hnsw_count(const fs_hnsw *h)
{
    return h->graph->cur_element_count;
}

int fs_hnsw_add_range(fs_hnsw *h, uint64_t from, uint64_t to, int threads)
{
    try {
        if (to <= from)
            return 0;
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

void fs_hnsw_set_ef(fs_hnsw *h, size_t ef)
{
    h->graph->setEf(ef);
}

int fs_hnsw_search(const fs_hnsw *h, const int8_t *code, float scale, size_t k, uint64_t *slots,
                   size_t *n)
{
    *n = 0;
    try {
        query_ref q = {QUERY_TAG, code, scale};
        auto top = h->graph->searchKnn(&q, k);
        size_t m = top.size();
        *n = m;
        while (!top.empty()) { /* farthest first: fill from the back */
            slots[--m] = top.top().second;
            top.pop();
        }
        return 0;
    } catch (...) {
        *n = 0;
        return -1;
    }
}

int fs_hnsw_save(const fs_hnsw *h, const char *path)
{
    try {
        h->graph->saveIndex(std::string(path));
        return 0;
    } catch (...) {
        return -1;
    }
}

size_t fs_hnsw_memory(const fs_hnsw *h)
{
    const auto *g = h->graph;
    size_t bytes = g->max_elements_ * g->size_data_per_element_ + g->max_elements_ * sizeof(void *);
    for (size_t i = 0; i < g->cur_element_count; i++)
        if (g->element_levels_[i] > 0)
            bytes += g->size_links_per_element_ * (size_t)g->element_levels_[i];
    return bytes;
}

} // extern "C"
