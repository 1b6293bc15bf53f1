#!/usr/bin/env node
// Baseline herd server on Node.js's `net` module.
//
// The classic proxy herd: IAMAT/WHATSAT on the client port; each accepted
// update is flooded as an AT line to every linked peer but the sender over
// one persistent outgoing connection per peer (re-dialled while the peer is
// away). Peers dial our peer port and first say "PEER <name>"; AT lines are
// accepted only there, so a client cannot forge locations.
//
// Usage: node_herd.js --name Hamilton --herd herd.json [--log FILE]
'use strict';

const fs = require('fs');
const net = require('net');

const EMPTY_PLACES =
    '{"html_attributions":[],"results":[],"status":"ZERO_RESULTS"}';
const NUMBER = '[+-]\\d+(?:\\.\\d+)?';
const COORDINATES = new RegExp(`^(${NUMBER})(${NUMBER})$`);
const CLIENT_TIME = /^([+-]?)(\d+)(?:\.(\d{1,9}))?$/;
const NANOS_PER_SECOND = 1000000000n;
const MAX_LINE_BYTES = 65536;
const RECONNECT_DELAY_MS = 100;

// The wall clock in nanoseconds: Date.now() has only milliseconds, so it is
// read once and advanced by the monotonic high-resolution clock.
const wallAtStartNs = BigInt(Date.now()) * 1000000n;
const hrAtStartNs = process.hrtime.bigint();
function wallClockNs() {
  return wallAtStartNs + (process.hrtime.bigint() - hrAtStartNs);
}

function parseClientTimeNs(text) {
  const match = CLIENT_TIME.exec(text);
  if (!match) return null;
  const [, sign, seconds, fraction = ''] = match;
  const nanos = BigInt(seconds) * NANOS_PER_SECOND +
      BigInt(fraction.padEnd(9, '0'));
  return sign === '-' ? -nanos : nanos;
}

function coordinatesValid(text) {
  const match = COORDINATES.exec(text);
  if (!match) return false;
  const latitude = Number(match[1]);
  const longitude = Number(match[2]);
  return latitude >= -90 && latitude <= 90 && longitude >= -180 &&
      longitude <= 180;
}

function formatTimeDifference(nanos) {
  const sign = nanos < 0n ? '-' : '+';
  const magnitude = nanos < 0n ? -nanos : nanos;
  const fraction = (magnitude % NANOS_PER_SECOND).toString().padStart(9, '0');
  return `${sign}${magnitude / NANOS_PER_SECOND}.${fraction}`;
}

function whatsatArgumentsValid(radiusText, countText) {
  const radius = Number(radiusText);
  const count = Number(countText);
  return /^\d+$/.test(countText) && radius > 0 && radius <= 50 && count > 0 &&
      count <= 20;
}

function parseArguments(argv) {
  const options = {log: ''};
  for (let i = 0; i + 1 < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!['name', 'herd', 'log'].includes(key)) {
      throw new Error(`unknown option ${argv[i]}`);
    }
    options[key] = argv[i + 1];
  }
  if (!options.name || !options.herd) {
    throw new Error('usage: node_herd.js --name NAME --herd FILE [--log FILE]');
  }
  return options;
}

// Calls onLine for each complete line; drops a connection whose line grows
// past the limit.
function readLines(socket, onLine) {
  let pending = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk) => {
    pending += chunk;
    let newline;
    while ((newline = pending.indexOf('\n')) >= 0) {
      onLine(pending.slice(0, newline).replace(/\r$/, ''));
      pending = pending.slice(newline + 1);
    }
    if (pending.length > MAX_LINE_BYTES) socket.destroy();
  });
  socket.on('error', () => {});
}

class Server {
  constructor(herd, name, logPath) {
    this.herd = herd;
    this.name = name;
    this.latest = new Map();  // client id -> {timeNs, atLine}
    this.peers = herd.links.filter((link) => link.includes(name))
                     .map(([a, b]) => (a === name ? b : a));
    this.peerSockets = new Map();  // peer name -> connected socket
    this.log = logPath ? fs.createWriteStream(logPath, {flags: 'a'}) : null;
  }

  record(direction, who, text) {
    if (this.log) {
      this.log.write(`${Date.now() / 1000} ${direction} ${who} ${
          text.trimEnd()}\n`);
    }
  }

  // Keeps the report if strictly newer; true if it was.
  remember(client, timeNs, atLine) {
    const known = this.latest.get(client);
    if (known && known.timeNs >= timeNs) return false;
    this.latest.set(client, {timeNs, atLine});
    return true;
  }

  flood(atLine, sender) {
    for (const [peer, socket] of this.peerSockets) {
      if (peer !== sender) {
        socket.write(atLine + '\n');
        this.record('out', peer, atLine);
      }
    }
  }

  // Returns the reply to one client line, flooding what is new.
  clientLine(line) {
    const fields = line.trim().split(/\s+/);
    if (fields.length === 4 && fields[0] === 'IAMAT') {
      const [, client, coordinates, clientTime] = fields;
      const timeNs = parseClientTimeNs(clientTime);
      if (timeNs !== null && coordinatesValid(coordinates)) {
        const difference = formatTimeDifference(wallClockNs() - timeNs);
        const atLine = `AT ${this.name} ${difference} ${client} ${
            coordinates} ${clientTime}`;
        if (this.remember(client, timeNs, atLine)) this.flood(atLine, null);
        return atLine + '\n';
      }
    } else if (fields.length === 4 && fields[0] === 'WHATSAT') {
      const known = this.latest.get(fields[1]);
      if (known && whatsatArgumentsValid(fields[2], fields[3])) {
        return `${known.atLine}\n${EMPTY_PLACES}\n\n`;
      }
    }
    return `? ${line}\n`;
  }

  peerLine(sender, line) {
    const fields = line.trim().split(/\s+/);
    if (fields.length !== 6 || fields[0] !== 'AT') return;
    const timeNs = parseClientTimeNs(fields[5]);
    if (timeNs === null || !coordinatesValid(fields[4])) return;
    const atLine = fields.join(' ');
    if (this.remember(fields[3], timeNs, atLine)) this.flood(atLine, sender);
  }

  serveClient(socket) {
    const who = `${socket.remoteAddress}:${socket.remotePort}`;
    this.record('open', who, '');
    readLines(socket, (line) => {
      this.record('in', who, line);
      const reply = this.clientLine(line);
      socket.write(reply);
      this.record('out', who, reply);
    });
    socket.on('close', () => this.record('close', who, ''));
  }

  servePeer(socket) {
    let sender = null;
    readLines(socket, (line) => {
      if (sender === null) {
        const hello = line.trim().split(/\s+/);
        if (hello.length !== 2 || hello[0] !== 'PEER' ||
            !this.peers.includes(hello[1])) {
          socket.destroy();
          return;
        }
        sender = hello[1];
        this.record('peer-in', sender, '');
        return;
      }
      this.record('in', sender, line);
      this.peerLine(sender, line);
    });
  }

  keepLink(peer) {
    const address = this.herd.servers[peer];
    const socket = net.connect(address.peer_port, address.host);
    socket.on('connect', () => {
      socket.setNoDelay(true);
      socket.write(`PEER ${this.name}\n`);
      this.peerSockets.set(peer, socket);
      this.record('link-up', peer, '');
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.peerSockets.get(peer) === socket) {
        this.peerSockets.delete(peer);
        this.record('link-down', peer, '');
      }
      setTimeout(() => this.keepLink(peer), RECONNECT_DELAY_MS);
    });
  }
}

function main() {
  const options = parseArguments(process.argv.slice(2));
  const herd = JSON.parse(fs.readFileSync(options.herd, 'utf8'));
  const me = herd.servers[options.name];
  const server = new Server(herd, options.name, options.log);
  const clients = net.createServer((socket) => {
    socket.setNoDelay(true);
    server.serveClient(socket);
  });
  const peers = net.createServer((socket) => server.servePeer(socket));
  clients.listen(me.port, me.host);
  peers.listen(me.peer_port, me.host);
  for (const peer of server.peers) server.keepLink(peer);
  const stop = () => {
    if (server.log) server.log.end();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
