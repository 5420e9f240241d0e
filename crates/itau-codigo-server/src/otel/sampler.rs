//! The sampler: the configured one ([`SamplerConfig`]), except that a caller's sampled
//! flag is a parent decision only when the caller is a trusted proxy. Anyone can send
//! `traceparent: …-01`; honouring it from anyone would let any caller make the service
//! record (and export) every request it sends.

use opentelemetry::trace::{SpanKind, TraceContextExt, TraceId, TraceState};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{Sampler, SamplingDecision, SamplingResult, ShouldSample};

use super::config::{RootSampler, SamplerConfig};

/// Put in the parent context of a request's span: whether the TCP peer that sent the
/// `traceparent` is a trusted proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Caller {
    /// In `--trusted-proxies`: its sampled flag counts.
    Trusted,
    /// Anyone else: its trace is continued, its flag is not followed.
    Untrusted,
}

/// A span's parent, as far as sampling goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Parent {
    /// A span of this service (the request's, for a store lookup).
    Local { sampled: bool },
    /// The caller's, from its `traceparent`.
    Remote { sampled: bool, caller: Caller },
}

/// [`SamplerConfig`] as the SDK asks it.
#[derive(Debug, Clone)]
pub(crate) struct CallerAwareSampler {
    parent_based: bool,
    root: Sampler,
}

impl CallerAwareSampler {
    pub(crate) fn new(config: SamplerConfig) -> Self {
        Self {
            parent_based: config.parent_based,
            root: match config.root {
                RootSampler::AlwaysOn => Sampler::AlwaysOn,
                RootSampler::AlwaysOff => Sampler::AlwaysOff,
                RootSampler::TraceIdRatio(ratio) => Sampler::TraceIdRatioBased(ratio),
            },
        }
    }

    /// Whether a span of trace `trace_id` under `parent` is recorded.
    fn decide(&self, parent: Option<&Context>, trace_id: TraceId) -> (bool, TraceState) {
        let parent_span = parent
            .filter(|cx| cx.has_active_span())
            .map(|cx| cx.span().span_context().clone())
            .filter(|span| span.is_valid());
        let Some(parent_span) = parent_span else {
            return (self.records(None, trace_id), TraceState::NONE);
        };
        let parent_decision = if parent_span.is_remote() {
            let caller = parent.and_then(|cx| cx.get::<Caller>().copied());
            Parent::Remote {
                sampled: parent_span.is_sampled(),
                caller: caller.unwrap_or(Caller::Untrusted),
            }
        } else {
            Parent::Local {
                sampled: parent_span.is_sampled(),
            }
        };
        (
            self.records(Some(parent_decision), trace_id),
            parent_span.trace_state().clone(),
        )
    }

    /// The decision itself, which `Tracing` also asks before it makes a span, so that
    /// a request the sampler drops costs no span.
    pub(crate) fn records(&self, parent: Option<Parent>, trace_id: TraceId) -> bool {
        match parent {
            Some(Parent::Local { sampled }) => sampled,
            Some(Parent::Remote {
                sampled,
                caller: Caller::Trusted,
            }) if self.parent_based => sampled,
            Some(Parent::Remote { .. }) | None => self.root_decision(trace_id),
        }
    }

    fn root_decision(&self, trace_id: TraceId) -> bool {
        let result = self
            .root
            .should_sample(None, trace_id, "", &SpanKind::Server, &[], &[]);
        result.decision == SamplingDecision::RecordAndSample
    }
}

impl ShouldSample for CallerAwareSampler {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        trace_id: TraceId,
        _name: &str,
        _span_kind: &SpanKind,
        _attributes: &[KeyValue],
        _links: &[opentelemetry::trace::Link],
    ) -> SamplingResult {
        let (sampled, trace_state) = self.decide(parent_context, trace_id);
        SamplingResult {
            decision: if sampled {
                SamplingDecision::RecordAndSample
            } else {
                SamplingDecision::Drop
            },
            attributes: Vec::new(),
            trace_state,
        }
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags};

    use super::*;

    const TRACE: TraceId = TraceId::from_bytes([0x4b; 16]);

    fn sampler(name: &str, arg: Option<&str>) -> CallerAwareSampler {
        let default = crate::otel::OtelDefaults::default().sampler;
        CallerAwareSampler::new(SamplerConfig::from_env(Some(name), arg, default).unwrap())
    }

    fn remote(sampled: bool, caller: Caller) -> Context {
        let span = SpanContext::new(
            TRACE,
            SpanId::from_bytes([7; 8]),
            TraceFlags::default().with_sampled(sampled),
            true,
            TraceState::NONE,
        );
        Context::new()
            .with_remote_span_context(span)
            .with_value(caller)
    }

    fn sampled(sampler: &CallerAwareSampler, parent: &Context) -> bool {
        sampler.decide(Some(parent), TRACE).0
    }

    #[test]
    fn a_trusted_callers_flag_decides_under_a_parent_based_sampler() {
        let off = sampler("parentbased_always_off", None);
        assert!(sampled(&off, &remote(true, Caller::Trusted)));
        let on = sampler("parentbased_always_on", None);
        assert!(!sampled(&on, &remote(false, Caller::Trusted)));
    }

    #[test]
    fn an_untrusted_callers_flag_is_not_followed_the_root_sampler_decides() {
        let off = sampler("parentbased_always_off", None);
        assert!(!sampled(&off, &remote(true, Caller::Untrusted)));
        let on = sampler("parentbased_always_on", None);
        assert!(sampled(&on, &remote(false, Caller::Untrusted)));
    }

    #[test]
    fn a_sampler_that_is_not_parent_based_ignores_even_a_trusted_flag() {
        let off = sampler("always_off", None);
        assert!(!sampled(&off, &remote(true, Caller::Trusted)));
    }

    #[test]
    fn a_local_parent_is_followed_whatever_the_sampler() {
        for (recorded, name) in [(true, "always_off"), (false, "always_on")] {
            let parent = Context::new().with_remote_span_context(SpanContext::new(
                TRACE,
                SpanId::from_bytes([7; 8]),
                TraceFlags::default().with_sampled(recorded),
                false,
                TraceState::NONE,
            ));
            assert_eq!(sampled(&sampler(name, None), &parent), recorded, "{name}");
        }
    }

    #[test]
    fn the_ratio_decides_on_the_trace_id() {
        let half = sampler("traceidratio", Some("0.5"));
        let low = TraceId::from_bytes([0; 16]);
        let high = TraceId::from_bytes([0xff; 16]);
        assert!(half.decide(None, low).0);
        assert!(!half.decide(None, high).0);
    }
}
