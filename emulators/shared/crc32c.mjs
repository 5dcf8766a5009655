// @ts-check
/**
 * CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum Google Cloud APIs use: Secret Manager's
 * `SecretPayload.data_crc32c` carries it as an integer, Cloud Storage's `crc32c` field and `x-goog-hash` header as
 * base64 of its four big-endian bytes. `node:zlib`'s `crc32` is the other polynomial (IEEE), so it cannot serve.
 */

const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[i] = c >>> 0;
  }
  return table;
})();

/**
 * The CRC32C of `data` as an unsigned 32-bit integer.
 * @param {Uint8Array} data
 * @returns {number}
 */
export function crc32c(data) {
  let crc = 0xffffffff;
  for (const byte of data) crc = /** @type {number} */ (TABLE[(crc ^ byte) & 0xff]) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/**
 * The CRC32C of `data` as Cloud Storage reports it: base64 of the big-endian 32-bit value.
 * @param {Uint8Array} data
 * @returns {string}
 */
export function crc32cBase64(data) {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32c(data));
  return out.toString('base64');
}
