//! Progress while a run is under way: an indicatif bar on terminals, plain lines otherwise.

use std::cell::Cell;
use std::rc::Rc;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::config::ProgressMode;

/// Shows progress on stderr as `mode` asks; cheap to clone (clones share the position).
#[derive(Debug, Clone)]
pub(crate) struct Progress {
    mode: ProgressMode,
    bar: Option<ProgressBar>,
    position: Rc<Cell<u64>>,
    total: Rc<Cell<u64>>,
}

impl Progress {
    pub(crate) fn new(mode: ProgressMode) -> Self {
        let bar = (mode == ProgressMode::Bar).then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] [{bar:30}] {pos}/{len} {wide_msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar
        });
        Self {
            mode,
            bar,
            position: Rc::new(Cell::new(0)),
            total: Rc::new(Cell::new(0)),
        }
    }

    /// Sets how many units the run has.
    pub(crate) fn set_total(&self, total: u64) {
        self.total.set(total);
        if let Some(bar) = &self.bar {
            bar.set_length(total);
        }
    }

    /// Says what is running now.
    pub(crate) fn start(&self, what: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(what.to_owned());
        }
    }

    /// Marks one unit done with a one-word verdict.
    pub(crate) fn finish_one(&self, what: &str, verdict: &str) {
        self.position.set(self.position.get() + 1);
        match self.mode {
            ProgressMode::Bar => {
                if let Some(bar) = &self.bar {
                    bar.inc(1);
                }
            }
            ProgressMode::Lines => eprintln!(
                "[{}/{}] {verdict:<4} {what}",
                self.position.get(),
                self.total.get()
            ),
            ProgressMode::Hidden => {}
        }
    }

    /// A passing remark, e.g. a wait on a rate limit.
    pub(crate) fn note(&self, text: &str) {
        match self.mode {
            ProgressMode::Bar => {
                if let Some(bar) = &self.bar {
                    bar.set_message(text.to_owned());
                }
            }
            ProgressMode::Lines => eprintln!("      {text}"),
            ProgressMode::Hidden => {}
        }
    }

    /// Removes the bar before the report is printed.
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
