//! The contract violations the proxy has seen: bounded, oldest dropped first, each logged
//! once as a warning when it is recorded.

use std::collections::VecDeque;
use std::time::SystemTime;

use beacon_spec::Rule;
use beacon_spec::admin::{Side, Violation};
use parking_lot::Mutex;

/// Violations kept; past it the oldest are dropped (and counted).
pub const MAX_VIOLATIONS: usize = 10_000;

/// Every violation seen since start or the last clear.
#[derive(Debug, Default)]
pub(crate) struct ViolationLog {
    kept: Mutex<Kept>,
}

#[derive(Debug, Default)]
struct Kept {
    violations: VecDeque<Violation>,
    dropped: u64,
}

impl ViolationLog {
    /// Records that `side` broke `rule` on `operation`, and logs it as one warning line.
    pub(crate) fn record(&self, rule: Rule, side: Side, operation: &str, message: String) {
        let side_name = match side {
            Side::Client => "client",
            Side::Upstream => "upstream",
        };
        tracing::warn!(
            target: "beacon_mock::proxy",
            "contract violation [{}] {} by the {side_name} on {operation}: {message}",
            rule.provenance,
            rule.id,
        );
        let violation = Violation {
            rule: rule.id.to_owned(),
            provenance: rule.provenance,
            side,
            operation: operation.to_owned(),
            message,
            time: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
        };
        let mut kept = self.kept.lock();
        if kept.violations.len() == MAX_VIOLATIONS {
            kept.violations.pop_front();
            kept.dropped += 1;
        }
        kept.violations.push_back(violation);
    }

    /// What is kept, oldest first.
    pub(crate) fn snapshot(&self) -> Vec<Violation> {
        self.kept.lock().violations.iter().cloned().collect()
    }

    /// Forgets every violation; returns how many there were.
    pub(crate) fn clear(&self) -> usize {
        let mut kept = self.kept.lock();
        kept.dropped = 0;
        std::mem::take(&mut kept.violations).len()
    }
}

#[cfg(test)]
mod tests {
    use beacon_spec::rules;

    use super::*;

    #[test]
    fn the_oldest_violations_make_room() {
        let log = ViolationLog::default();
        for i in 0..=MAX_VIOLATIONS {
            log.record(
                rules::PANEL_ENVELOPE,
                Side::Upstream,
                "list_servers",
                format!("#{i}"),
            );
        }
        let kept = log.snapshot();
        assert_eq!(kept.len(), MAX_VIOLATIONS);
        assert_eq!(kept[0].message, "#1");
        assert_eq!(log.clear(), MAX_VIOLATIONS);
        assert!(log.snapshot().is_empty());
    }
}
