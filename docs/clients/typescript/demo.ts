// Runs `consulta` through every kind of answer and prints one line per answer:
//   node dist/demo.js http://127.0.0.1:8080 [STUB_URL]
// against `itau-codigo serve --demo --login-max-failures 2`. STUB_URL, when given, is a
// stand-in for a newer service that answers a problem type this client does not know.

import { consulta, type Credentials, type Outcome } from "./consulta.js";

function describe(outcome: Outcome): string {
  switch (outcome.kind) {
    case "found":
      return `found: ${outcome.data.nome_completo ?? "?"}, manager ${outcome.data.gerentes?.codigo_cargo ?? "none"}`;
    case "invalid":
      return `invalid: ${outcome.errors.map((e) => `${e.field} ${e.code}`).join(", ")}`;
    case "refused":
      return `refused: ${outcome.problem.type}`;
    case "wrong-credentials":
      return "wrong credentials";
    case "locked-out":
      return `locked out: retry after ${outcome.retryAfterSeconds} s`;
    case "not-found":
      return "no such account";
    case "retry-later":
      return `retry later: ${outcome.problem.type}`;
    case "bare":
      return `bare ${outcome.status}: no body`;
    case "unknown-problem":
      return `unknown problem ${outcome.status}: ${outcome.type} (${outcome.title})`;
  }
}

const [baseUrl, stubUrl] = process.argv.slice(2);
if (baseUrl === undefined) {
  throw new Error("usage: node dist/demo.js BASE_URL [STUB_URL]");
}
const demo: Credentials = { userName: "demo", password: "demo" };
const known = { codigo_conta: "001341150100098790", tipo_estrutura: "OP" };

console.log(describe(await consulta(baseUrl, demo, known)));
console.log(describe(await consulta(baseUrl, demo, { codigo_conta: "001341150100098791" })));
console.log(describe(await consulta(baseUrl, demo, { codigo_conta: "001341000100000017" })));
// More than 96 headers: the HTTP layer answers 431, bare.
const filler = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`x-filler-${i}`, `${i}`]));
console.log(describe(await consulta(baseUrl, demo, known, filler)));
if (stubUrl !== undefined) {
  console.log(describe(await consulta(stubUrl, demo, known)));
}
// Last, as it locks this address out: wrong passwords until the answer says so.
const wrong: Credentials = { userName: "demo", password: "wrong" };
for (let attempt = 0; attempt < 5; attempt++) {
  const outcome = await consulta(baseUrl, wrong, known);
  console.log(describe(outcome));
  if (outcome.kind === "locked-out") {
    break;
  }
}
