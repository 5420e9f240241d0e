"""An OTLP/HTTP trace receiver for tests: decodes each POST /v1/traces body with the
OpenTelemetry project's own protobuf classes (opentelemetry-proto, pinned in
scripts/requirements-otlp.txt) and prints what it received as JSON lines on stdout.
crates/itau-codigo-server/tests/api/otlp.rs starts it and reads them.

    otlp_receiver.py        listens on a free loopback port; prints first
                            {"port": N}, then for each export
                            {"content_type", "body_base64", "spans": [...]}

Each span: trace_id, span_id, parent_span_id (hex, "" for none), name, kind (the
enum's name, e.g. SPAN_KIND_SERVER), trace_state, attributes ({key: value}),
status ({code, message}) and the resource's attributes and the scope's name.
Anything that is not a valid ExportTraceServiceRequest is answered 400 and printed
as {"error": ...}, so that the test sees it.
"""

import base64
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status


def value_of(any_value):
    kind = any_value.WhichOneof("value")
    if kind is None:
        return None
    if kind in ("array_value", "kvlist_value", "bytes_value"):
        return str(getattr(any_value, kind))
    return getattr(any_value, kind)


def attributes(key_values):
    return {kv.key: value_of(kv.value) for kv in key_values}


def spans_of(request):
    for resource_spans in request.resource_spans:
        resource = attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                yield {
                    "resource": resource,
                    "scope": scope_spans.scope.name,
                    "trace_id": span.trace_id.hex(),
                    "span_id": span.span_id.hex(),
                    "parent_span_id": span.parent_span_id.hex(),
                    "name": span.name,
                    "kind": Span.SpanKind.Name(span.kind),
                    "trace_state": span.trace_state,
                    "attributes": attributes(span.attributes),
                    "status": {
                        "code": Status.StatusCode.Name(span.status.code),
                        "message": span.status.message,
                    },
                    "start_time_unix_nano": span.start_time_unix_nano,
                    "end_time_unix_nano": span.end_time_unix_nano,
                }


def emit(record):
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path != "/v1/traces":
            emit({"error": f"POST to {self.path}"})
            return self.answer(404, b"")
        try:
            request = ExportTraceServiceRequest.FromString(body)
        except DecodeError as error:
            emit({"error": f"not an ExportTraceServiceRequest: {error}"})
            return self.answer(400, b"")
        emit(
            {
                "content_type": self.headers.get("Content-Type"),
                "body_base64": base64.b64encode(body).decode(),
                "spans": list(spans_of(request)),
            }
        )
        self.answer(200, ExportTraceServiceResponse().SerializeToString())

    def answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    emit({"port": server.server_address[1]})
    server.serve_forever()


if __name__ == "__main__":
    main()
