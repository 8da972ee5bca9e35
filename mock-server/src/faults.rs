//! Injected faults of one API: latency, an error status or a dropped connection for the next
//! N or a ratio of requests, optionally per path.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use http::StatusCode;
use parking_lot::Mutex;
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Faults set at most at once.
pub(crate) const MAX_FAULTS: usize = 1_000;
/// Longest `path` of a fault.
const MAX_FAULT_PATH_BYTES: usize = 2 * 1024;

/// [`MAX_FAULTS`] faults are set already.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "{MAX_FAULTS} faults are set, the most the mock keeps; DELETE /__admin/faults to clear them"
)]
pub(crate) struct FaultsFull;

/// What an injected fault does to a request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct FaultEffect {
    pub(crate) latency: Option<Duration>,
    pub(crate) status: Option<StatusCode>,
    pub(crate) drop_connection: bool,
}

/// Request body of `POST /__admin/faults`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FaultSpec {
    /// Only requests whose API path (after `/api/v1`) is this path or below it; a leading
    /// `/api/v1` is dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    /// Apply to the next `count` matching requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    count: Option<u32>,
    /// Apply to this fraction (0..=1) of matching requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ratio: Option<f64>,
    /// Wait this long before answering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    latency_ms: Option<u64>,
    /// Answer with this status, in the API's error envelope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    /// Close the connection without answering (the request is still handled and journaled:
    /// its answer is what is lost).
    #[serde(default)]
    drop: bool,
}

impl FaultSpec {
    /// Why the spec cannot be applied, if it cannot.
    pub(crate) fn problem(&self) -> Option<&'static str> {
        if self.latency_ms.is_none() && self.status.is_none() && !self.drop {
            return Some("a fault needs latency_ms, status or drop");
        }
        if self.count == Some(0) {
            return Some("count must be at least 1");
        }
        if self.ratio.is_some_and(|r| !(0.0..=1.0).contains(&r)) {
            return Some("ratio must be between 0 and 1");
        }
        if self.status.is_some_and(|s| !(400..=599).contains(&s)) {
            return Some("status must be an error status (400..=599)");
        }
        if self.latency_ms.is_some_and(|ms| ms > 60_000) {
            return Some("latency_ms must be at most 60000");
        }
        if let Some(path) = &self.path {
            if path.len() > MAX_FAULT_PATH_BYTES {
                return Some("path must be at most 2048 bytes");
            }
            if !path.starts_with('/') {
                // It could never match: every request path starts with `/`.
                return Some("path must start with / (the path after /api/v1, such as /servers)");
            }
        }
        None
    }

    /// The spec with its path as requests are matched: after `/api/v1`, so that a path copied
    /// from the journal (which shows the whole path) matches too.
    fn with_api_path(mut self) -> Self {
        if let Some(path) = &mut self.path {
            match path.strip_prefix(crate::service::BASE_PATH) {
                Some("") => *path = "/".to_owned(),
                Some(rest) if rest.starts_with('/') => *path = rest.to_owned(),
                _ => {}
            }
        }
        self
    }
}

#[derive(Debug, Clone)]
struct Fault {
    id: u64,
    spec: FaultSpec,
    remaining: Option<u32>,
}

/// Injected faults of one API. The request path pays one atomic load while none is set.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    active: AtomicBool,
    next_id: AtomicU64,
    faults: Mutex<Vec<Fault>>,
}

impl Faults {
    /// The effect of the first fault that applies to a request on `api_path`, consuming one
    /// of its count.
    pub(crate) fn take(&self, api_path: &str) -> FaultEffect {
        if !self.active.load(Ordering::Acquire) {
            return FaultEffect::default();
        }
        let mut faults = self.faults.lock();
        let applies = |f: &Fault| {
            f.spec.path.as_ref().is_none_or(|p| {
                api_path == p
                    || api_path
                        .strip_prefix(p.trim_end_matches('/'))
                        .is_some_and(|rest| rest.starts_with('/'))
            }) && f
                .spec
                .ratio
                .is_none_or(|r| rand::rng().random_bool(r.clamp(0.0, 1.0)))
        };
        let Some(index) = faults.iter().position(applies) else {
            return FaultEffect::default();
        };
        let fault = &mut faults[index];
        let effect = FaultEffect {
            latency: fault.spec.latency_ms.map(Duration::from_millis),
            status: fault.spec.status.and_then(|s| StatusCode::from_u16(s).ok()),
            drop_connection: fault.spec.drop,
        };
        if let Some(remaining) = &mut fault.remaining {
            *remaining -= 1;
            if *remaining == 0 {
                faults.remove(index);
                self.active.store(!faults.is_empty(), Ordering::Release);
            }
        }
        effect
    }

    /// Sets a fault, unless [`MAX_FAULTS`] are set already.
    pub(crate) fn add(&self, spec: FaultSpec) -> Result<u64, FaultsFull> {
        let mut faults = self.faults.lock();
        if faults.len() >= MAX_FAULTS {
            return Err(FaultsFull);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let spec = spec.with_api_path();
        faults.push(Fault {
            id,
            remaining: spec.count,
            spec,
        });
        self.active.store(true, Ordering::Release);
        Ok(id)
    }

    pub(crate) fn list(&self) -> serde_json::Value {
        let faults = self.faults.lock();
        json!(
            faults
                .iter()
                .map(|f| json!({ "id": f.id, "remaining": f.remaining, "fault": f.spec }))
                .collect::<Vec<_>>()
        )
    }

    pub(crate) fn clear(&self) {
        self.faults.lock().clear();
        self.active.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(path: &str) -> FaultSpec {
        FaultSpec {
            path: Some(path.to_owned()),
            status: Some(503),
            ..FaultSpec::default()
        }
    }

    #[test]
    fn a_fault_path_is_the_api_path_and_must_start_with_a_slash() {
        assert_eq!(
            on("servers").problem(),
            Some("path must start with / (the path after /api/v1, such as /servers)")
        );
        assert_eq!(on("/servers").problem(), None);
        for (given, kept) in [
            ("/api/v1/servers/123", "/servers/123"),
            ("/api/v1", "/"),
            ("/servers", "/servers"),
            ("/api/v1x", "/api/v1x"),
        ] {
            assert_eq!(
                on(given).with_api_path().path.as_deref(),
                Some(kept),
                "{given}"
            );
        }
        let faults = Faults::default();
        faults.add(on("/api/v1/servers/123")).unwrap();
        assert_eq!(faults.take("/servers").status, None);
        assert_eq!(
            faults.take("/servers/123/console").status,
            Some(StatusCode::SERVICE_UNAVAILABLE)
        );
    }
}
