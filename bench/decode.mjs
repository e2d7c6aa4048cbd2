// Decodes a whole band with databox; prints the seconds the read took. With `thread` as the second
// argument the codecs run on the calling thread (zlib still spreads over libuv's pool); by default on a
// codec pool with one worker thread per core.
import { CodecPool, inThreadCodecs, openGeoTiff } from '../dist/index.js';

const pool = process.argv[3] === 'thread' ? undefined : new CodecPool();
const tiff = await openGeoTiff(process.argv[2], { codecs: pool ?? inThreadCodecs });
const start = performance.now();
const { bands } = await tiff.readWindow({ bands: [0] });
const seconds = (performance.now() - start) / 1000;
if (bands[0].length !== tiff.width * tiff.height) throw new Error('short read');
await tiff.close();
await pool?.close();
console.log(seconds);
