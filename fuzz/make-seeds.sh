#!/bin/sh
# Makes the GeoTIFF fuzzer's seed files: small (48×40) crops of the conformance fixtures that keep
# each one's structure (codec, predictor, data type, strips or 16×16 tiles, interleave, BigTIFF,
# overviews, GeoKeys), so one case reads in milliseconds. Needs GDAL; the output is committed, so
# running the fuzzer does not. Usage: fuzz/make-seeds.sh [conformance dir]
set -eu
src=${1:-/work/shared/fixtures/conformance}
out=$(dirname "$0")/seeds
mkdir -p "$out"
crop() { # name, creation options...
  name=$1; shift
  gdal_translate -q -srcwin 0 0 48 40 "$@" "$src/$name" "$out/$name"
}
tiled="-co TILED=YES -co BLOCKXSIZE=16 -co BLOCKYSIZE=16"
crop u8_deflate_tiled256.tif $tiled -co COMPRESS=DEFLATE
crop u8_jpeg_ycbcr.tif $tiled -co COMPRESS=JPEG -co PHOTOMETRIC=YCBCR
crop u8_packbits_strips.tif -co COMPRESS=PACKBITS -co BLOCKYSIZE=7
crop u16_deflate_pred2_tiled.tif $tiled -co COMPRESS=DEFLATE -co PREDICTOR=2
crop u16_lzw_pred2_strips.tif -co COMPRESS=LZW -co PREDICTOR=2 -co BLOCKYSIZE=16
crop u16_zstd_tiled.tif $tiled -co COMPRESS=ZSTD
crop u16_none_bandinterleave.tif $tiled -co INTERLEAVE=BAND
crop i16_deflate_pixelinterleave.tif $tiled -co COMPRESS=DEFLATE -co INTERLEAVE=PIXEL
crop u32_lzw.tif $tiled -co COMPRESS=LZW
crop i32_deflate_strips.tif -co COMPRESS=DEFLATE -co BLOCKYSIZE=9
crop f32_deflate_pred3_tiled.tif $tiled -co COMPRESS=DEFLATE -co PREDICTOR=3
crop f32_lzw_pred3_bigtiff.tif $tiled -co COMPRESS=LZW -co PREDICTOR=3 -co BIGTIFF=YES
crop f64_deflate_pred3.tif $tiled -co COMPRESS=DEFLATE -co PREDICTOR=3
crop f32_lerc.tif $tiled -co COMPRESS=LERC -co MAX_Z_ERROR=0
# A COG with overviews: the IFD chain, SubfileType and the overview levels get fuzzed too.
gdal_translate -q -srcwin 0 0 96 80 -of COG -co BLOCKSIZE=16 -co COMPRESS=DEFLATE -co OVERVIEWS=IGNORE_EXISTING \
  -co OVERVIEW_COUNT=3 "$src/u16_cog_overviews.tif" "$out/u16_cog_overviews.tif"
rm -f "$out"/*.aux.xml
