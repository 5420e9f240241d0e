//! The standard `OTEL_*` variables `serve` reads, into a [`TracingConfig`]: export is
//! on when an OTLP endpoint is set, and every variable is checked at start, so that a
//! mistake exits 2 instead of losing traces quietly.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// What applies when a variable is unset. `Default` is written in `crate::config`,
/// with every other default of the service.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OtelDefaults {
    /// `OTEL_SERVICE_NAME`.
    pub service_name: &'static str,
    /// `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`; with only the argument set,
    /// it replaces this sampler's ratio.
    pub sampler: SamplerConfig,
    /// `OTEL_EXPORTER_OTLP_TIMEOUT`.
    pub timeout: Duration,
}

/// Whether and where spans are exported.
#[derive(Debug, Clone, PartialEq)]
pub enum TracingConfig {
    /// No endpoint (or `OTEL_SDK_DISABLED=true`): `traceparent` is still read and
    /// `traceresponse` still sent, but nothing is recorded.
    Off,
    /// Spans go to an OTLP/HTTP endpoint in protobuf.
    Otlp(OtlpConfig),
}

/// Where spans go, and which requests are recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct OtlpConfig {
    /// The traces URL (`…/v1/traces`).
    pub endpoint: Endpoint,
    /// `service.name` of the exported resource.
    pub service_name: String,
    /// Which requests are recorded.
    pub sampler: SamplerConfig,
    /// How long one export may take, retries included.
    pub timeout: Duration,
    /// A PEM file of the certificates that may sign an `https` endpoint's (the
    /// system's roots when `None`).
    pub certificate: Option<PathBuf>,
}

/// An `http://` or `https://` URL, shown without any user or password it holds.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    url: String,
    https: bool,
    /// `scheme://host:port/path`, for logs.
    shown: String,
}

impl Endpoint {
    fn parse(variable: &'static str, url: &str) -> Result<Self, OtelConfigError> {
        let error = |reason| OtelConfigError::Endpoint { variable, reason };
        let (https, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(error("not an http:// or https:// URL"));
        };
        let (authority, path) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
        let host = authority.rsplit('@').next().unwrap_or(authority);
        if host.is_empty() {
            return Err(error("no host"));
        }
        if url
            .chars()
            .any(|c| c.is_ascii_whitespace() || c.is_ascii_control())
        {
            return Err(error("spaces or control characters"));
        }
        let path = path.split(['?', '#']).next().unwrap_or("");
        Ok(Self {
            url: url.to_owned(),
            https,
            shown: format!("{}://{host}{path}", if https { "https" } else { "http" }),
        })
    }

    /// The URL as configured (it may hold credentials: never log it).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether it is `https`.
    pub fn is_https(&self) -> bool {
        self.https
    }
}

impl fmt::Display for Endpoint {
    /// Without a user or password, and without the query.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Endpoint({})", self.shown)
    }
}

/// `OTEL_TRACES_SAMPLER` (and its argument), as this service applies it: a root
/// decision, and whether a caller's decision is followed. A caller's `traceparent`
/// counts as a parent decision only from a trusted proxy (`--trusted-proxies`); from
/// anyone else the root decision applies, on the caller's trace ID.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamplerConfig {
    /// `parentbased_*`: a trusted caller's sampled flag decides.
    pub parent_based: bool,
    /// The decision for a request without a parent whose decision counts.
    pub root: RootSampler,
}

/// The decision for a trace's first span in this service.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RootSampler {
    /// Every trace.
    AlwaysOn,
    /// None.
    AlwaysOff,
    /// This share of traces (0 to 1), decided on the trace ID, so that every service
    /// sampling by ratio keeps the same traces.
    TraceIdRatio(f64),
}

impl fmt::Display for SamplerConfig {
    /// As `OTEL_TRACES_SAMPLER` spells it, the ratio after a space.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.parent_based {
            f.write_str("parentbased_")?;
        }
        match self.root {
            RootSampler::AlwaysOn => f.write_str("always_on"),
            RootSampler::AlwaysOff => f.write_str("always_off"),
            RootSampler::TraceIdRatio(ratio) => write!(f, "traceidratio {ratio}"),
        }
    }
}

/// Why the `OTEL_*` variables cannot be used; `serve` exits 2 with this message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OtelConfigError {
    /// A protocol other than `http/protobuf` (gRPC, JSON).
    #[error(
        "{variable}={value:?} is not supported: itau-codigo exports traces over OTLP/HTTP in protobuf \
         only (no gRPC); set it to http/protobuf, or unset it, and point the endpoint at the \
         collector's OTLP/HTTP port (4318 by default)"
    )]
    Protocol {
        /// `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` or `OTEL_EXPORTER_OTLP_PROTOCOL`.
        variable: &'static str,
        /// What it said.
        value: String,
    },
    /// A sampler this service does not have.
    #[error(
        "OTEL_TRACES_SAMPLER={0:?} is not supported; use always_on, always_off, traceidratio, \
         parentbased_always_on, parentbased_always_off or parentbased_traceidratio"
    )]
    Sampler(String),
    /// A ratio that is not a number from 0 to 1.
    #[error("OTEL_TRACES_SAMPLER_ARG={0:?} is not a number from 0 to 1")]
    SamplerArg(String),
    /// An endpoint that is not an `http`/`https` URL (the value is not repeated: it
    /// may hold credentials).
    #[error("{variable} is not a usable URL: {reason}")]
    Endpoint {
        /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT`.
        variable: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A timeout that is not a whole number of milliseconds.
    #[error("{variable}={value:?} is not a number of milliseconds")]
    Timeout {
        /// `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT` or `OTEL_EXPORTER_OTLP_TIMEOUT`.
        variable: &'static str,
        /// What it said.
        value: String,
    },
}

impl TracingConfig {
    /// Reads the variables through `get` (`std::env::var` in `serve`, a table in
    /// tests). A per-signal variable (`OTEL_EXPORTER_OTLP_TRACES_*`) wins over the
    /// general one; an empty variable counts as unset.
    ///
    /// # Errors
    ///
    /// With an endpoint set: a protocol other than `http/protobuf`, an unknown sampler,
    /// a ratio outside 0 to 1, an endpoint that is not an `http(s)` URL, a bad timeout.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Self, OtelConfigError> {
        let defaults = OtelDefaults::default();
        let get = |name: &str| get(name).filter(|value| !value.trim().is_empty());
        if get("OTEL_SDK_DISABLED").is_some_and(|value| value.trim().eq_ignore_ascii_case("true")) {
            return Ok(Self::Off);
        }
        let endpoint = if let Some(url) = get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            Endpoint::parse("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", url.trim())?
        } else if let Some(base) = get("OTEL_EXPORTER_OTLP_ENDPOINT") {
            let base = base.trim();
            let url = format!("{}/v1/traces", base.strip_suffix('/').unwrap_or(base));
            Endpoint::parse("OTEL_EXPORTER_OTLP_ENDPOINT", &url)?
        } else {
            return Ok(Self::Off);
        };
        for variable in [
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ] {
            if let Some(value) = get(variable) {
                if value.trim() != "http/protobuf" {
                    return Err(OtelConfigError::Protocol { variable, value });
                }
                break;
            }
        }
        let timeout = [
            "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
            "OTEL_EXPORTER_OTLP_TIMEOUT",
        ]
        .into_iter()
        .find_map(|variable| get(variable).map(|value| (variable, value)))
        .map_or(Ok(defaults.timeout), |(variable, value)| {
            value
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|&ms| ms > 0)
                .map(Duration::from_millis)
                .ok_or(OtelConfigError::Timeout { variable, value })
        })?;
        let certificate = get("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE")
            .or_else(|| get("OTEL_EXPORTER_OTLP_CERTIFICATE"))
            .map(PathBuf::from);
        Ok(Self::Otlp(OtlpConfig {
            endpoint,
            service_name: get("OTEL_SERVICE_NAME")
                .unwrap_or_else(|| defaults.service_name.to_owned()),
            sampler: SamplerConfig::from_env(
                get("OTEL_TRACES_SAMPLER").as_deref(),
                get("OTEL_TRACES_SAMPLER_ARG").as_deref(),
                defaults.sampler,
            )?,
            timeout,
            certificate,
        }))
    }
}

impl SamplerConfig {
    /// `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`. Without a sampler,
    /// `default`, whose ratio (if it has one) the argument replaces; a ratio sampler
    /// named without an argument records everything, as the specification says.
    ///
    /// # Errors
    ///
    /// An unknown sampler, or a ratio sampler's argument outside 0 to 1.
    pub fn from_env(
        sampler: Option<&str>,
        arg: Option<&str>,
        default: Self,
    ) -> Result<Self, OtelConfigError> {
        let ratio = |arg: &str| {
            arg.trim()
                .parse::<f64>()
                .ok()
                .filter(|ratio| (0.0..=1.0).contains(ratio))
                .ok_or_else(|| OtelConfigError::SamplerArg(arg.to_owned()))
        };
        let Some(name) = sampler.map(str::trim) else {
            return Ok(match (default.root, arg) {
                (RootSampler::TraceIdRatio(_), Some(arg)) => Self {
                    root: RootSampler::TraceIdRatio(ratio(arg)?),
                    ..default
                },
                _ => default,
            });
        };
        let (parent_based, root) = match name.strip_prefix("parentbased_") {
            Some(root) => (true, root),
            None => (false, name),
        };
        let root = match root {
            "always_on" => RootSampler::AlwaysOn,
            "always_off" => RootSampler::AlwaysOff,
            "traceidratio" => RootSampler::TraceIdRatio(arg.map_or(Ok(1.0), ratio)?),
            _ => return Err(OtelConfigError::Sampler(name.to_owned())),
        };
        Ok(Self { parent_based, root })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<TracingConfig, OtelConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        TracingConfig::from_env(|name| vars.get(name).cloned())
    }

    fn otlp(vars: &[(&str, &str)]) -> OtlpConfig {
        match config(vars).unwrap() {
            TracingConfig::Otlp(otlp) => otlp,
            TracingConfig::Off => panic!("off for {vars:?}"),
        }
    }

    const ENDPOINT: (&str, &str) = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318");

    const DEFAULT: SamplerConfig = SamplerConfig {
        parent_based: true,
        root: RootSampler::TraceIdRatio(0.01),
    };

    #[test]
    fn without_an_endpoint_export_is_off_whatever_else_is_set() {
        assert_eq!(config(&[]), Ok(TracingConfig::Off));
        assert_eq!(
            config(&[
                ("OTEL_TRACES_SAMPLER", "nonsense"),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "")
            ]),
            Ok(TracingConfig::Off)
        );
        assert_eq!(
            config(&[ENDPOINT, ("OTEL_SDK_DISABLED", "TRUE")]),
            Ok(TracingConfig::Off)
        );
    }

    #[test]
    fn the_general_endpoint_gets_the_traces_path_and_the_traces_one_is_taken_as_is() {
        assert_eq!(
            otlp(&[ENDPOINT]).endpoint.url(),
            "http://collector:4318/v1/traces"
        );
        assert_eq!(
            otlp(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector/otlp/")])
                .endpoint
                .url(),
            "https://collector/otlp/v1/traces"
        );
        let both = otlp(&[
            ENDPOINT,
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://other:9999/traces",
            ),
        ]);
        assert_eq!(both.endpoint.url(), "http://other:9999/traces");
    }

    #[test]
    fn an_endpoint_is_shown_without_its_credentials() {
        let endpoint = otlp(&[(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "https://user:s3cr3t@collector:4318",
        )])
        .endpoint;
        assert!(endpoint.is_https());
        assert_eq!(endpoint.to_string(), "https://collector:4318/v1/traces");
        assert!(!format!("{endpoint:?}").contains("s3cr3t"));
        let with_query = otlp(&[(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "http://collector/v1/traces?token=s3cr3t",
        )])
        .endpoint;
        assert_eq!(with_query.to_string(), "http://collector/v1/traces");
    }

    #[test]
    fn an_endpoint_that_is_not_an_http_url_is_refused_without_repeating_it() {
        let error =
            config(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "grpc://secret@collector")]).unwrap_err();
        assert_eq!(
            error,
            OtelConfigError::Endpoint {
                variable: "OTEL_EXPORTER_OTLP_ENDPOINT",
                reason: "not an http:// or https:// URL"
            }
        );
        assert!(!error.to_string().contains("secret"));
        assert!(config(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http:///v1")]).is_err());
    }

    #[test]
    fn only_http_protobuf_is_accepted_as_protocol() {
        otlp(&[ENDPOINT, ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")]);
        for value in ["grpc", "http/json"] {
            let error = config(&[ENDPOINT, ("OTEL_EXPORTER_OTLP_PROTOCOL", value)]).unwrap_err();
            assert_eq!(
                error,
                OtelConfigError::Protocol {
                    variable: "OTEL_EXPORTER_OTLP_PROTOCOL",
                    value: value.to_owned()
                }
            );
            assert!(error.to_string().contains("http/protobuf"), "{error}");
        }
        // The per-signal variable wins.
        otlp(&[
            ENDPOINT,
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf"),
        ]);
    }

    #[test]
    fn samplers_are_the_six_standard_ones() {
        let sampler =
            |name: &str, arg: Option<&str>| SamplerConfig::from_env(Some(name), arg, DEFAULT);
        assert_eq!(sampler("always_on", None).unwrap().to_string(), "always_on");
        assert_eq!(
            sampler("parentbased_always_off", Some("0.5")).unwrap(),
            SamplerConfig {
                parent_based: true,
                root: RootSampler::AlwaysOff
            }
        );
        assert_eq!(
            sampler("traceidratio", Some("0.25")).unwrap().root,
            RootSampler::TraceIdRatio(0.25)
        );
        // Named without an argument, a ratio sampler keeps everything.
        assert_eq!(
            sampler("parentbased_traceidratio", None).unwrap().root,
            RootSampler::TraceIdRatio(1.0)
        );
        for bad in ["jaeger_remote", "xray", "AlwaysOn", "parentbased_"] {
            assert_eq!(
                sampler(bad, None),
                Err(OtelConfigError::Sampler(bad.to_owned()))
            );
        }
        for bad in ["1.5", "-0.1", "half", "NaN"] {
            assert_eq!(
                sampler("traceidratio", Some(bad)),
                Err(OtelConfigError::SamplerArg(bad.to_owned()))
            );
        }
    }

    #[test]
    fn without_a_sampler_the_default_applies_with_its_ratio_or_the_one_given() {
        assert_eq!(SamplerConfig::from_env(None, None, DEFAULT), Ok(DEFAULT));
        assert_eq!(
            SamplerConfig::from_env(None, Some("1"), DEFAULT),
            Ok(SamplerConfig {
                parent_based: true,
                root: RootSampler::TraceIdRatio(1.0)
            })
        );
        assert_eq!(
            SamplerConfig::from_env(None, Some("2"), DEFAULT),
            Err(OtelConfigError::SamplerArg("2".to_owned()))
        );
        // A default without a ratio has nothing for the argument to replace.
        let off = SamplerConfig {
            parent_based: true,
            root: RootSampler::AlwaysOff,
        };
        assert_eq!(SamplerConfig::from_env(None, Some("0.5"), off), Ok(off));
    }

    #[test]
    fn service_name_and_timeout_have_defaults() {
        let defaults = otlp(&[ENDPOINT]);
        assert_eq!(defaults.service_name, OtelDefaults::default().service_name);
        assert_eq!(defaults.timeout, OtelDefaults::default().timeout);
        let set = otlp(&[
            ENDPOINT,
            ("OTEL_SERVICE_NAME", "consulta-conta"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
        ]);
        assert_eq!(set.service_name, "consulta-conta");
        assert_eq!(set.timeout, Duration::from_millis(2500));
        assert!(config(&[ENDPOINT, ("OTEL_EXPORTER_OTLP_TIMEOUT", "2s")]).is_err());
    }
}
