//! The property driver: the boundary values of the coverage phase, then the proptest cases
//! of the fuzz phase, seeded from the run's seed and shrunk on failure.

use std::cell::{Cell, RefCell};
use std::fmt;

use beacon_spec::Operation;
use proptest::strategy::Strategy;
use proptest::test_runner::{RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};

use super::{Ctx, Stop};
use crate::check::{Check, Phase};
use crate::report::Finding;

/// Shrinking steps a failing property may take (each costs requests); later steps pass
/// without a request, so that proptest keeps the last input that really failed.
const MAX_SHRINK_ITERS: u32 = 32;
/// proptest's own cap, never reached in practice (reaching it prints to stderr).
const PROPTEST_SHRINK_CAP: u32 = 100_000;

/// Runs a property of `check` on `op` in the current phase: in `coverage`, `case` on each
/// of the `boundary` values, reporting the first failure of each rule; in `fuzz`, on the
/// inputs `strategy` generates, shrinking the first failing one (within
/// [`MAX_SHRINK_ITERS`] and the budget).
pub(crate) fn property<S>(
    ctx: &Ctx,
    check: &Check,
    op: &Operation,
    boundary: Vec<S::Value>,
    strategy: S,
    case: impl Fn(&S::Value) -> Result<(), Stop>,
    out: &mut Vec<Finding>,
) -> Result<(), Stop>
where
    S: Strategy,
    S::Value: fmt::Debug,
{
    match ctx.phase() {
        Some(Phase::Coverage) => boundaries(boundary, case, out),
        Some(Phase::Fuzz) => fuzz(ctx, check, op, strategy, case, out),
        Some(Phase::Examples | Phase::Stateful) | None => Ok(()),
    }
}

fn boundaries<T: fmt::Debug>(
    values: Vec<T>,
    case: impl Fn(&T) -> Result<(), Stop>,
    out: &mut Vec<Finding>,
) -> Result<(), Stop> {
    for value in values {
        match case(&value) {
            Ok(()) => {}
            Err(Stop::Finding(mut finding)) => {
                if out.iter().all(|f| f.rule.id != finding.rule.id) {
                    finding.input = Some(format!("{value:?} (boundary value)"));
                    out.push(*finding);
                }
            }
            Err(stop) => return Err(stop),
        }
    }
    Ok(())
}

fn fuzz<S>(
    ctx: &Ctx,
    check: &Check,
    op: &Operation,
    strategy: S,
    case: impl Fn(&S::Value) -> Result<(), Stop>,
    out: &mut Vec<Finding>,
) -> Result<(), Stop>
where
    S: Strategy,
    S::Value: fmt::Debug,
{
    let config = proptest::test_runner::Config {
        cases: ctx.config.cases,
        max_shrink_iters: PROPTEST_SHRINK_CAP,
        failure_persistence: None,
        max_local_rejects: 10_000,
        max_global_rejects: 10_000,
        ..proptest::test_runner::Config::default()
    };
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &ctx.seed_bytes(check, op));
    let mut runner = TestRunner::new_with_rng(config, rng);
    let halted: RefCell<Option<Stop>> = RefCell::new(None);
    let failures: RefCell<Vec<(String, Finding)>> = RefCell::new(Vec::new());
    let shrink_steps = Cell::new(0u32);
    let result = runner.run(&strategy, |value| {
        if !failures.borrow().is_empty() {
            shrink_steps.set(shrink_steps.get() + 1);
        }
        if halted.borrow().is_some() || shrink_steps.get() > MAX_SHRINK_ITERS {
            // The budget or the shrinking allowance is spent: every further case passes
            // without a request, so that shrinking keeps the last input that really failed.
            return Ok(());
        }
        match case(&value) {
            Ok(()) => Ok(()),
            Err(Stop::Finding(finding)) => {
                let message = finding.message.clone();
                failures.borrow_mut().push((format!("{value:?}"), *finding));
                Err(TestCaseError::fail(message))
            }
            Err(stop) => {
                *halted.borrow_mut() = Some(stop);
                Ok(())
            }
        }
    });
    let halted = halted.into_inner();
    match result {
        Ok(()) => halted.map_or(Ok(()), Err),
        Err(TestError::Fail(_, minimal)) => {
            let key = format!("{minimal:?}");
            let mut failures = failures.into_inner();
            if failures.is_empty() {
                return Err(Stop::error("proptest reported a failure without a case"));
            }
            let index = failures
                .iter()
                .rposition(|(input, _)| *input == key)
                .unwrap_or(failures.len() - 1);
            let (_, mut finding) = failures.swap_remove(index);
            let note = match &halted {
                Some(Stop::Budget(_)) => " (shrinking stopped: budget spent)",
                Some(_) => " (shrinking stopped by an error)",
                None if shrink_steps.get() > MAX_SHRINK_ITERS => " (partly shrunk)",
                None => " (shrunk)",
            };
            finding.input = Some(format!("{key}{note}"));
            out.push(finding);
            Ok(())
        }
        Err(TestError::Abort(reason)) => Err(Stop::error(format!("proptest gave up: {reason}"))),
    }
}
