// Calling POST /apiaccess/rest/ccmessaging/v1/itau/codigo with fetch, typed by
// openapi-typescript from schemas/openapi.json (`npm run generate` writes
// generated/itau-codigo.d.ts). Every answer the service can give becomes one `Outcome`.

import type { components } from "./generated/itau-codigo.js";

type Schemas = components["schemas"];
export type ConsultaRequest = Schemas["ConsultaClienteRequest"];
export type DadosCliente = Schemas["DadosCliente"];
export type Problem = Schemas["Problem"];
export type FieldError = Schemas["FieldError"];

const PATH = "/apiaccess/rest/ccmessaging/v1/itau/codigo";
const PROBLEM = "urn:itau-codigo:problem:";

export interface Credentials {
  userName: string;
  password: string;
}

/** What an answer means to the caller. */
export type Outcome =
  | { kind: "found"; data: DadosCliente }
  /** 400 invalid-request: every failing member, with a stable `code` (which may be new). */
  | { kind: "invalid"; errors: FieldError[] }
  /** Another 400, or a path or method that does not exist: fix the request. */
  | { kind: "refused"; problem: Problem }
  /** 401 without Retry-After: the credentials are wrong. */
  | { kind: "wrong-credentials" }
  /** 401 with Retry-After: this client address is locked out; do not retry before then. */
  | { kind: "locked-out"; retryAfterSeconds: number }
  | { kind: "not-found" }
  /** 500 (store-unavailable, internal) or a body that came too late: retry with backoff. */
  | { kind: "retry-later"; problem: Problem }
  /** An answer of the HTTP layer: no body to read (400, 408 or 431). */
  | { kind: "bare"; status: number }
  /** A problem type this client does not know (a newer service may add some): act on the status. */
  | { kind: "unknown-problem"; status: number; type: string; title: string };

export async function consulta(
  baseUrl: string,
  credentials: Credentials,
  request: ConsultaRequest,
  extraHeaders: Record<string, string> = {},
): Promise<Outcome> {
  const res = await fetch(`${baseUrl}${PATH}`, {
    method: "POST",
    headers: { ...extraHeaders, "Content-Type": "application/json", ...credentials },
    body: JSON.stringify(request),
  });
  if (res.status === 200) {
    const body = (await res.json()) as Schemas["ConsultaClienteResponse"];
    return { kind: "found", data: body.data ?? {} };
  }
  // Not every non-2xx has a problem body: check the media type before parsing.
  if (!(res.headers.get("Content-Type") ?? "").startsWith("application/problem+json")) {
    await res.arrayBuffer();
    return { kind: "bare", status: res.status };
  }
  const problem = (await res.json()) as Problem;
  // The generated union lists the types known today; a newer service may send others,
  // so branch on the string and keep a default.
  const type: string = problem.type;
  switch (type) {
    case `${PROBLEM}invalid-request`:
      return { kind: "invalid", errors: problem.errors ?? [] };
    case `${PROBLEM}unsupported-media-type`:
    case `${PROBLEM}payload-too-large`:
    case `${PROBLEM}malformed-json`:
    case `${PROBLEM}route-not-found`:
    case `${PROBLEM}method-not-allowed`:
      return { kind: "refused", problem };
    case `${PROBLEM}unauthorized`: {
      const retryAfter = res.headers.get("Retry-After");
      return retryAfter === null
        ? { kind: "wrong-credentials" }
        : { kind: "locked-out", retryAfterSeconds: Number(retryAfter) };
    }
    case `${PROBLEM}account-not-found`:
      return { kind: "not-found" };
    case `${PROBLEM}store-unavailable`:
    case `${PROBLEM}internal`:
    case `${PROBLEM}request-timeout`:
      return { kind: "retry-later", problem };
    default:
      return { kind: "unknown-problem", status: res.status, type, title: problem.title };
  }
}
