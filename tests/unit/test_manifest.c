/*
 * test_manifest.c — the manifest parser: the built-in manifests parse, and each malformed case is
 * refused with its exact message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "models/manifest.h"

static void test_builtin_default(void **state)
{
    (void)state;
    const char *text = model_builtin_manifest("default");
    assert_non_null(text);
    model_manifest m;
    fs_error err;
    assert_int_equal(model_manifest_parse(text, strlen(text), "default", &m, &err), FS_OK);
    assert_string_equal(m.name, "default");
    assert_string_equal(m.package, "faceplugin-face-recognition-js@0.0.1");
    assert_string_equal(m.detector.kind, "ultraface");
    assert_string_equal(m.detector.file, "fr_detect.onnx");
    assert_string_equal(m.landmarks.file, "fr_landmark.onnx");
    assert_string_equal(m.recognizer.file, "fr_feature.onnx");
    assert_int_equal(m.file_count, 3);
    assert_string_equal(m.files[2].sha256,
                        "87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581");
    /* the detector's raw outputs, which engine.c runs it up to */
    assert_int_equal(m.detector.all.count, 2);
    assert_string_equal(m.detector.all.names[0], "461");
    assert_string_equal(m.detector.all.names[1], "462");
    assert_int_equal(m.detector.small.count, 4);
    assert_string_equal(m.detector.small.names[3], "390");
    assert_int_equal(m.recognizer.all.count, 0);
    model_manifest_free(&m);
}

/* The dlib and fused packs: two packages (the first names the pack), a converted file listed
 * like any other, and the fused pack's second recognizer and weight. */
static void test_builtin_dlib_and_fused(void **state)
{
    (void)state;
    const char *names[] = {"dlib", "fused"};
    for (int i = 0; i < 2; i++) {
        const char *text = model_builtin_manifest(names[i]);
        assert_non_null(text);
        model_manifest m;
        assert_int_equal(model_manifest_parse(text, strlen(text), names[i], &m, NULL), FS_OK);
        assert_string_equal(m.package, "faceplugin-face-recognition-js@0.0.1");
        assert_int_equal(m.file_count, i == 0 ? 4 : 5);
        assert_string_equal(m.files[m.file_count - 1].name, "dlib_resnet.onnx");
        assert_int_equal(strlen(m.files[m.file_count - 1].sha256), 64);
        if (i == 0) {
            assert_string_equal(m.recognizer.kind, "dlib");
            assert_null(m.recognizer2.file);
            assert_float_equal(m.fusion, 0.0f, 0);
        } else {
            assert_string_equal(m.recognizer.file, "fr_feature.onnx");
            assert_string_equal(m.recognizer2.kind, "dlib");
            assert_string_equal(m.recognizer2.file, "dlib_resnet.onnx");
            assert_float_equal(m.fusion, 0.15f, 1e-6);
        }
        model_manifest_free(&m);
    }
}

static void test_builtin_insightface(void **state)
{
    (void)state;
    const char *names[] = {"buffalo_l", "buffalo_s", "antelopev2"};
    for (size_t i = 0; i < 3; i++) {
        const char *text = model_builtin_manifest(names[i]);
        assert_non_null(text);
        model_manifest m;
        assert_int_equal(model_manifest_parse(text, strlen(text), names[i], &m, NULL), FS_OK);
        assert_string_equal(m.detector.kind, "scrfd");
        assert_null(m.package);
        model_manifest_free(&m);
    }
    assert_null(model_builtin_manifest("nonesuch"));
}

static void expect_error(const char *text, const char *message)
{
    model_manifest m;
    fs_error err;
    assert_int_equal(model_manifest_parse(text, strlen(text), "m", &m, &err), FS_ERR_FORMAT);
    assert_string_equal(err.message, message);
    assert_null(m.name); /* nothing left allocated */
}

static void test_malformed(void **state)
{
    (void)state;
    expect_error("name x\nbogus 1\n", "m:2: unknown key 'bogus'");
    expect_error("name x y\n", "m:1: 'name' takes one value");
    expect_error("threshold 2\n", "m:1: threshold must be in [-1, 1]");
    expect_error("threshold abc\n", "m:1: threshold must be in [-1, 1]");
    expect_error("file a b c\n", "m:1: 'file' takes NAME SOURCE SHA256");
    expect_error("file ../a b -\n", "m:1: file name must not contain '/'");
    expect_error("detector k\n", "m:1: 'detector' takes KIND FILE");
    expect_error("detector k a\nrecognizer k b\nfile a a -\n", "m: no 'name'");
    expect_error("name x\ndetector k a\nrecognizer k b\nfile a a -\n",
                 "m: role file 'b' is not listed with 'file'");
    expect_error("name x\nfile a a -\n", "m: needs a detector and a recognizer");
    expect_error("a b c d e f g h i j k\n", "m:1: too many words");
    expect_error("outputs detector all\n",
                 "m:1: 'outputs' takes detector|landmarks|recognizer|recognizer2 all|small TENSOR...");
    expect_error("outputs eyes all x\n",
                 "m:1: 'outputs' takes detector|landmarks|recognizer|recognizer2 all|small TENSOR...");
    expect_error("outputs detector some x\n",
                 "m:1: 'outputs' takes detector|landmarks|recognizer|recognizer2 all|small TENSOR...");
    expect_error("outputs detector all a b c d e f g\n", "m:1: more than 6 outputs");
    expect_error("name x\noutputs detector all a\noutputs detector all b\n",
                 "m:3: outputs detector all given twice");
    expect_error("package_sha256 12\n", "m:1: bad sha256");
    /* converted files, fusion, a second recognizer */
    const char *sha = "0000000000000000000000000000000000000000000000000000000000000000";
    char line[256];
    snprintf(line, sizeof line, "convert b.onnx dlib2onnx a.dat %s\n", sha);
    expect_error(line, "m:1: converts 'a.dat', which no line before lists");
    snprintf(line, sizeof line, "file a.dat a -\nconvert b.onnx ../x a.dat %s\n", sha);
    expect_error(line, "m:2: 'convert' takes NAME TOOL FROM SHA256");
    expect_error("file a.dat a -\nconvert b.onnx t a.dat -\n",
                 "m:2: 'convert' takes NAME TOOL FROM SHA256");
    snprintf(line, sizeof line, "file a.dat a -\nconvert a.dat t a.dat %s\n", sha);
    expect_error(line, "m:2: file 'a.dat' listed twice");
    expect_error("fusion 1\n", "m:1: fusion must be in (0, 1)");
    expect_error("fusion 0\n", "m:1: fusion must be in (0, 1)");
    expect_error("name x\ndetector k a\nrecognizer k b\nrecognizer2 dlib c\n"
                 "file a a -\nfile b b -\nfile c c -\n",
                 "m: 'recognizer2' and 'fusion' go together");
    expect_error("name x\ndetector k a\nrecognizer k b\nfusion 0.5\nfile a a -\nfile b b -\n",
                 "m: 'recognizer2' and 'fusion' go together");
    model_manifest m;
    fs_error err;
    assert_int_equal(model_manifest_parse("name\0x", 6, "m", &m, &err), FS_ERR_FORMAT);
    assert_string_equal(err.message, "m: not a text file");
}

static void test_comments_and_threshold(void **state)
{
    (void)state;
    const char *text = "# pack\nname x # trailing\n\n  threshold  0.42\n"
                       "detector scrfd a\nrecognizer arcface b\nfile a a -\nfile b b -";
    model_manifest m;
    assert_int_equal(model_manifest_parse(text, strlen(text), "m", &m, NULL), FS_OK);
    assert_string_equal(m.name, "x");
    assert_float_equal(m.threshold, 0.42f, 1e-6);
    assert_string_equal(m.files[0].sha256, "");
    model_manifest_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_default),
        cmocka_unit_test(test_builtin_dlib_and_fused),
        cmocka_unit_test(test_builtin_insightface),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_comments_and_threshold),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
