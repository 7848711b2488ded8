// dlib_ref.cpp — dlib's own inference, the reference scripts/dlib-check.sh compares our converted
// recognizer against. Development-only: built against Debian's libdlib-dev by that script, never
// part of facesearch. The network type spells out the architecture of
// dlib_face_recognition_resnet_model_v1 (a ResNet-29-like metric net) so dlib can deserialise it.
//
//   dlib_ref NET.dat CHIP.rgb...   each CHIP: 150 x 150 x 3 bytes, RGB, row-major
//
// Prints one line per chip: the 128 values of its descriptor.
#include <dlib/dnn.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <vector>

using namespace dlib;

template <template <int, template <typename> class, int, typename> class B, int N,
          template <typename> class BN, typename S>
using residual = add_prev1<B<N, BN, 1, tag1<S>>>;
template <template <int, template <typename> class, int, typename> class B, int N,
          template <typename> class BN, typename S>
using residual_down = add_prev2<avg_pool<2, 2, 2, 2, skip1<tag2<B<N, BN, 2, tag1<S>>>>>>;
template <int N, template <typename> class BN, int stride, typename S>
using block = BN<con<N, 3, 3, 1, 1, relu<BN<con<N, 3, 3, stride, stride, S>>>>>;
template <int N, typename S> using ares = relu<residual<block, N, affine, S>>;
template <int N, typename S> using ares_down = relu<residual_down<block, N, affine, S>>;
template <typename S> using level0 = ares_down<256, S>;
template <typename S> using level1 = ares<256, ares<256, ares_down<256, S>>>;
template <typename S> using level2 = ares<128, ares<128, ares_down<128, S>>>;
template <typename S> using level3 = ares<64, ares<64, ares<64, ares_down<64, S>>>>;
template <typename S> using level4 = ares<32, ares<32, ares<32, S>>>;
using net_type = loss_metric<fc_no_bias<128, avg_pool_everything<level0<level1<level2<level3<
    level4<max_pool<3, 3, 2, 2, relu<affine<con<32, 7, 7, 2, 2,
    input_rgb_image_sized<150>>>>>>>>>>>>>;

int main(int argc, char **argv)
{
    if (argc < 3) {
        std::fprintf(stderr, "usage: dlib_ref NET.dat CHIP.rgb...\n");
        return 2;
    }
    net_type net;
    deserialize(argv[1]) >> net;
    for (int a = 2; a < argc; a++) {
        std::ifstream in(argv[a], std::ios::binary);
        std::vector<unsigned char> px((std::istreambuf_iterator<char>(in)), {});
        if (px.size() != 150 * 150 * 3) {
            std::fprintf(stderr, "%s: not a 150 x 150 RGB chip\n", argv[a]);
            return 1;
        }
        matrix<rgb_pixel> chip(150, 150);
        for (long r = 0; r < 150; r++)
            for (long c = 0; c < 150; c++) {
                const unsigned char *p = &px[3 * (r * 150 + c)];
                chip(r, c) = rgb_pixel(p[0], p[1], p[2]);
            }
        matrix<float, 0, 1> d = net(chip);
        for (long i = 0; i < d.size(); i++)
            std::printf(i ? " %.9g" : "%.9g", d(i));
        std::printf("\n");
    }
    return 0;
}
