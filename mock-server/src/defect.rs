//! Deliberately broken state transitions, for proving that beacon-conformance's stateful
//! phase catches them. Test-only: the builder takes one only with the `defects` feature.

/// A state transition the mock breaks on purpose.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(feature = "defects"), allow(dead_code))]
pub enum Defect {
    /// `GET /servers/{id}/databases` lists at most three databases.
    DatabaseListStopsAtThree,
    /// A console command also lands in every other server's console of the account.
    CommandInEveryConsole,
    /// `restart` answers 200 but leaves a stopped server stopped.
    RestartLeavesStoppedServerStopped,
    /// `GET /pages/{slug}/incidents` keeps serving the list of its first read.
    StaleIncidentList,
}
