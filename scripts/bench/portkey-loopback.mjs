// Node preload (--import) for the Portkey gateway's server: its CLI takes a port but no host
// and listens on every interface; this binds it to 127.0.0.1 instead, and announces the port
// the OS chose (it is started with --port=0) as "NEXUS_LISTENING <port>" on stdout.

import net from "node:net";

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === "number") {
    // listen(port), listen(port, callback), listen(port, undefined, callback)
    if (args.length === 1 || typeof args[1] === "function") args.splice(1, 0, "127.0.0.1");
    else if (args[1] === undefined) args[1] = "127.0.0.1";
    this.once("listening", () => process.stdout.write(`\nNEXUS_LISTENING ${this.address().port}\n`));
  }
  return listen.apply(this, args);
};
