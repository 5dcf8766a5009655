// @ts-check
// What every stand-in does with its HTTP servers: listen on a port (0 picks a free one) and learn the bound port,
// and put the host in an address.
/**
 * `host` as it goes before `:port` in an address or URL (IPv6 literals in brackets).
 * @param {string} host
 * @returns {string}
 */
export const hostForAddress = (host) => (host.includes(':') && !host.startsWith('[') ? `[${host}]` : host);

/**
 * Listens and resolves with the port actually bound.
 * @param {import('node:http').Server} server
 * @param {number} port
 * @param {string} host
 * @returns {Promise<number>}
 */
export async function listenHttp(server, port, host) {
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(undefined);
    });
  });
  const address = server.address();
  return typeof address === 'object' && address ? address.port : port;
}
