// Decodes a whole band with databox; prints the seconds the read took. By default on the shared codec
// pool (one worker thread per core, what openGeoTiff uses unless told otherwise); with `thread` as the
// second argument on the calling thread (zlib still spreads over libuv's thread pool).
import { closeSharedCodecs, inThreadCodecs, openGeoTiff } from '../dist/index.js';

const tiff = await openGeoTiff(process.argv[2], process.argv[3] === 'thread' ? { codecs: inThreadCodecs } : {});
const start = performance.now();
const { bands } = await tiff.readWindow({ bands: [0] });
const seconds = (performance.now() - start) / 1000;
if (bands[0].length !== tiff.width * tiff.height) throw new Error('short read');
await tiff.close();
await closeSharedCodecs();
console.log(seconds);
