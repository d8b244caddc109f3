// A vda-5050-lib virtual AGV (VDA 5050 2.0.0) with fieldops' action types registered.
//   node agv.js BROKER_URL MANUFACTURER SERIAL MAP_ID
// Also: node agv.js --validate FILE...  -> validates fieldops payloads with the library's 2.0
// JSON-schema validators and prints {"file": [errors...]} as JSON.
"use strict";
const fs = require("fs");
const lib = require("vda-5050-lib");

if (process.argv[2] === "--validate") {
  const v = require("vda-5050-lib/common/vda-5050-validators-2.0.js");
  const byName = {
    order: v.validateOrder, order_update: v.validateOrder, "order_2.0.0": v.validateOrder,
    instant_actions: v.validateInstantActions, "instant_actions_2.0.0": v.validateInstantActions, state: v.validateState,
    connection: v.validateConnection, factsheet: v.validateFactsheet,
  };
  const out = {};
  for (const file of process.argv.slice(3)) {
    const name = require("path").basename(file, ".json");
    const check = byName[name];
    const data = JSON.parse(fs.readFileSync(file, "utf8"));
    out[name] = check ? (check(data) ? [] : check.errors) : ["no validator for " + name];
  }
  console.log(JSON.stringify(out));
  process.exit(0);
}

const [brokerUrl, manufacturer, serialNumber, mapId] = process.argv.slice(2);

// fieldops' work actions: RUNNING for one (time-lapsed) second, then FINISHED.
function workAction(actionType) {
  return {
    actionType,
    actionScopes: "node",
    actionParameterConstraints: { stepId: (value) => typeof value === "string" && value.length > 0 },
    transitions: {
      ON_INIT: { next: lib.ActionStatus.Running },
      ON_CANCEL: {},
      [lib.ActionStatus.Running]: { durationTime: 1, next: lib.ActionStatus.Finished },
      [lib.ActionStatus.Finished]: { resultDescription: () => actionType + " done" },
      [lib.ActionStatus.Failed]: { errorDescription: () => actionType + " failed" },
    },
  };
}

class FieldopsAgvAdapter extends lib.VirtualAgvAdapter {
  get actionDefinitions() {
    return super.actionDefinitions.concat(
      ["finePositioning", "installRails", "installDevice", "connectCableEnd", "verifyLabel"].map(workAction),
    );
  }
}

const agv = new lib.AgvController(
  { manufacturer, serialNumber },
  { interfaceName: "uagv", transport: { brokerUrl }, vdaVersion: "2.0.0" },
  { agvAdapterType: FieldopsAgvAdapter, publishStateInterval: 100 },
  { initialPosition: { mapId, x: 0, y: 0, theta: 0, lastNodeId: "0" }, timeLapse: 50, vehicleSpeed: 2 },
);

agv.start().then(() => console.log("virtual AGV " + serialNumber + " started"));
process.on("SIGTERM", () => agv.stop().then(() => process.exit(0)));
