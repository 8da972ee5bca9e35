//! The run context every check works through, and how a check stops early.

use std::cell::{Cell, RefCell};
use std::fmt;

use beacon_spec::{Api, Operation};

use crate::check::{Check, Phase};
use crate::client::{Client, ClientError, Exchange, Request};
use crate::config::Config;
use crate::report::Finding;

/// What a run knows about the deployment once it has looked around.
#[derive(Debug, Clone, Default)]
pub(crate) struct Target {
    /// Status: the page that reads and writes use (the first of `GET /pages`).
    pub(crate) page: Option<PageTarget>,
    /// Status: every slug of the first page of `GET /pages`.
    pub(crate) slugs: Vec<String>,
    /// Panel: the server reads use (`--server-id`, else the first of `GET /servers`).
    pub(crate) read_server: Option<String>,
    /// Panel: the server writes may touch (`--server-id` only).
    pub(crate) write_server: Option<String>,
    /// Panel: every server id of `GET /servers`, bare.
    pub(crate) servers: Vec<String>,
}

/// A status page to use.
#[derive(Debug, Clone)]
pub(crate) struct PageTarget {
    pub(crate) slug: String,
    pub(crate) id: String,
}

/// Whether a request only reads or may change state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
}

/// Everything a check needs while it runs.
pub(crate) struct Ctx<'a> {
    pub(crate) config: &'a Config,
    pub(crate) client: Client,
    pub(crate) target: Target,
    phase: Cell<Option<Phase>>,
    created: RefCell<Vec<String>>,
    /// The warm-up reads that got no response, by operation, with why.
    warm_up_failures: RefCell<Vec<(&'static Operation, String)>>,
    nonce: String,
    counter: Cell<u32>,
}

impl fmt::Debug for Ctx<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ctx")
            .field("client", &self.client)
            .field("target", &self.target)
            .field("phase", &self.phase.get())
            .finish_non_exhaustive()
    }
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(config: &'a Config, client: Client, target: Target) -> Self {
        Self {
            config,
            client,
            target,
            phase: Cell::new(None),
            created: RefCell::new(Vec::new()),
            warm_up_failures: RefCell::new(Vec::new()),
            nonce: format!("{:06x}", rand::random::<u32>() & 0xff_ffff),
            counter: Cell::new(0),
        }
    }

    /// Notes that the warm-up read of `op` got no response (after its one retry).
    pub(crate) fn warm_up_failed(&self, op: &'static Operation, reason: String) {
        self.warm_up_failures.borrow_mut().push((op, reason));
    }

    /// Why the warm-up read of `op` got no response, if it did not.
    pub(crate) fn warm_up_failure(&self, op: &Operation) -> Option<String> {
        let failures = self.warm_up_failures.borrow();
        let found = failures.iter().find(|(failed, _)| failed.id == op.id);
        found.map(|(_, reason)| reason.clone())
    }

    pub(crate) fn api(&self) -> Api {
        self.config.api
    }

    /// The phase now running, if a check runs in one.
    pub(crate) fn phase(&self) -> Option<Phase> {
        self.phase.get()
    }

    pub(crate) fn set_phase(&self, phase: Option<Phase>) {
        self.phase.set(phase);
    }

    /// The path parameters `op` needs, from the target; an error when there is none to use.
    pub(crate) fn params(
        &self,
        op: &Operation,
        access: Access,
    ) -> Result<Vec<(&'static str, String)>, Stop> {
        op.path_params
            .iter()
            .map(|param| {
                let value = match (param.name, access) {
                    ("slug", _) => self
                        .target
                        .page
                        .as_ref()
                        .map(|page| page.slug.clone())
                        .ok_or_else(|| Stop::error("the workspace has no status page to check")),
                    ("serverId", Access::Read) => self
                        .target
                        .read_server
                        .clone()
                        .ok_or_else(|| Stop::error("the account has no server to check")),
                    ("serverId", Access::Write) => {
                        self.target.write_server.clone().ok_or_else(|| {
                            Stop::skip("writes on Panel touch only --server-id; pass it")
                        })
                    }
                    (other, _) => Err(Stop::error(format!("no value for path parameter {other}"))),
                }?;
                Ok((param.name, value))
            })
            .collect()
    }

    /// Notes something the run created and cannot delete (the APIs have no delete), for the
    /// report.
    pub(crate) fn record_created(&self, what: String) {
        self.created.borrow_mut().push(what);
    }

    /// Everything the run created, in order.
    pub(crate) fn created(&self) -> Vec<String> {
        self.created.borrow().clone()
    }

    /// A short string no earlier call of this run returned, e.g. for database names.
    pub(crate) fn unique(&self) -> String {
        self.counter.set(self.counter.get() + 1);
        format!("{}{}", self.nonce, self.counter.get())
    }

    /// A deterministic random stream for `check` on `op`, from the run's seed.
    pub(crate) fn rng(&self, check: &Check, op: &Operation) -> SplitMix {
        SplitMix(self.config.seed ^ fnv1a(check.name) ^ fnv1a(op.name).rotate_left(17))
    }

    pub(crate) fn seed_bytes(&self, check: &Check, op: &Operation) -> [u8; 32] {
        let mut rng = self.rng(check, op);
        let mut bytes = [0u8; 32];
        for chunk in bytes.chunks_mut(8) {
            chunk.copy_from_slice(&rng.next_u64().to_le_bytes());
        }
        bytes
    }

    /// Sends within the budget the plan leaves this check.
    pub(crate) fn send(&self, request: &Request) -> Result<Exchange, Stop> {
        Ok(self.client.send(request)?)
    }
}

/// Why a check stopped before the end.
#[derive(Debug)]
pub(crate) enum Stop {
    /// A rule broke.
    Finding(Box<Finding>),
    /// The budget the plan left this check is spent.
    Budget(u32),
    /// A request failed on the wire, retried once where that is safe.
    Transport(String),
    /// The check could not do its work against this deployment (an ERROR, not a pass).
    Error(String),
    /// The user's selection leaves the check nothing to do.
    Skip(String),
}

impl Stop {
    pub(crate) fn skip(reason: impl Into<String>) -> Self {
        Stop::Skip(reason.into())
    }

    pub(crate) fn error(reason: impl Into<String>) -> Self {
        Stop::Error(reason.into())
    }
}

impl From<ClientError> for Stop {
    fn from(error: ClientError) -> Self {
        match error {
            ClientError::BudgetSpent { budget } => Stop::Budget(budget),
            ClientError::Transport { .. } => Stop::Transport(error.to_string()),
        }
    }
}

impl From<Finding> for Stop {
    fn from(finding: Finding) -> Self {
        Stop::Finding(Box::new(finding))
    }
}

/// Fails with `finding` unless `condition` holds.
pub(crate) fn ensure(condition: bool, finding: impl FnOnce() -> Finding) -> Result<(), Stop> {
    if condition {
        Ok(())
    } else {
        Err(finding().into())
    }
}

/// A small deterministic random stream (SplitMix64).
#[derive(Debug, Clone)]
pub(crate) struct SplitMix(pub(crate) u64);

impl SplitMix {
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A character of `alphabet`, uniformly.
    pub(crate) fn pick(&mut self, alphabet: &[u8]) -> char {
        char::from(alphabet[(self.next_u64() % alphabet.len() as u64) as usize])
    }
}

fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
