#!/usr/bin/env bash
# Health check of the compose MongoDB service that also initiates its replica set on first run:
# rs.initiate() with the members in $MONGO_RS_MEMBERS (host:port,host:port,...), then healthy once this node
# is PRIMARY or SECONDARY. Idempotent: an initiated set is left as it is.
set -euo pipefail
RS=${MONGO_REPLICA_SET:-rs0}
MEMBERS=${MONGO_RS_MEMBERS:-$(hostname):27017}
mongosh --quiet --norc --eval "
const members = '$MEMBERS'.split(',').map((host, i) => ({_id: i, host: host, priority: i === 0 ? 2 : 1}));
let state;
try { state = rs.status().myState; }
catch (e) {
  if (e.codeName !== 'NotYetInitialized') throw e;
  rs.initiate({_id: '$RS', members: members});
  quit(1);
}
quit(state === 1 || state === 2 ? 0 : 1);
"
