//! `--threads N`: a pool of Python threads that run the app while the
//! event loop goes on doing every socket's I/O (gunicorn's gthread model,
//! with the loop in place of gunicorn's selector).
//!
//! The loop hands the pool a [`Job`]: call the app, pull one more piece of
//! its body, or close a body whose client has gone. A pool thread runs it
//! and sends back what happened ([`Done`]) on a channel, then wakes the
//! loop's poll with a [`mio::Waker`]. One job is one step, so the loop
//! decides before every piece whether the client can take more
//! (backpressure), and jobs of many connections take turns in the queue.
//! The one exception is a body that is a list or a tuple, which the thread
//! pulls on while the output has room, since none of its pieces can wait.
//! There are never more jobs running than threads: the rest wait in the
//! queue, in the order they came; none is refused.
//!
//! What threads buy under the GIL: only one thread runs Python at a time,
//! but a thread that waits (`time.sleep`, a database driver waiting for
//! its answer, a socket read in `requests`) releases the GIL while it
//! waits, and another runs. So waiting overlaps and computing does not: an
//! app that spends 50 ms waiting per request serves up to N times as many
//! requests a second, one that spends 50 ms computing serves no more. The
//! GIL is released wherever this server waits too: the loop in its poll,
//! and the pool's threads while they wait for a job.
//!
//! Left out: growing or shrinking the pool, and a limit on the queue.
//! Every queued job belongs to a connection the loop has accepted, so the
//! queue is as long as the connections are many.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::{Registry, Token, Waker};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use stage_04::{Outcome, Responder};

use crate::buffer::Buffer;
use crate::stepping::{InProgress, Step, begin};

/// What a pool thread is asked to do for one request.
pub enum Work {
    /// Call the app with this `environ`.
    Call {
        /// The application.
        app: Py<PyAny>,
        /// The request's `environ`, made by the loop.
        environ: Py<PyDict>,
    },
    /// Pull the next piece of the body and write it to the output.
    Step(InProgress),
    /// The client has gone: close the body (its `close()`, which may block).
    Abandon(InProgress),
}

/// One step of one request, for a pool thread.
pub struct Job {
    /// The connection the request came on.
    pub token: Token,
    /// The request's responder; also how the loop recognises the request
    /// when the job comes back (the connection's slot may have a new
    /// connection in it by then).
    pub responder: Py<Responder>,
    /// What to do.
    pub work: Work,
    /// The connection's output, which the responder writes into: a body
    /// already in memory is pulled on while this is under the high-water
    /// mark (see [`Job::run`]).
    pub output: Arc<Mutex<Buffer>>,
}

/// What came of a job.
pub enum Report {
    /// The app was called, or a piece pulled: where the response stands.
    Stepped(Step),
    /// The body of a request whose client had gone is closed.
    Abandoned(Outcome),
}

/// A job done, sent back to the loop.
pub struct Done {
    /// The connection the request came on.
    pub token: Token,
    /// The request's responder (see [`Job::responder`]).
    pub responder: Py<Responder>,
    /// What came of it.
    pub result: Report,
}

/// The pool of one worker process: started by its event loop, after the
/// fork (a thread does not survive a fork, and a lock it held would stay
/// locked in the child).
pub struct Pool {
    jobs: Option<Sender<Job>>,
    done: Receiver<Done>,
    threads: Vec<JoinHandle<()>>,
    /// Per thread: since when it has been on its current job, in
    /// milliseconds after `epoch` plus one; 0 while it waits for a job.
    busy_since: Arc<[AtomicU64]>,
    epoch: Instant,
    /// Jobs handed out and not yet come back.
    in_flight: usize,
}

impl Pool {
    /// Starts `size` threads; each finished job wakes the poll `registry`
    /// belongs to with `token`.
    /// `high_water` is the loop's: how much output a thread may leave for
    /// a connection before it stops pulling a body.
    pub fn start(
        size: usize,
        high_water: usize,
        registry: &Registry,
        token: Token,
    ) -> std::io::Result<Pool> {
        let waker = Arc::new(Waker::new(registry, token)?);
        let (jobs, queue) = channel::<Job>();
        let (report, done) = channel::<Done>();
        let queue = Arc::new(Mutex::new(queue));
        let busy_since: Arc<[AtomicU64]> = (0..size).map(|_| AtomicU64::new(0)).collect();
        let epoch = Instant::now();
        let mut threads = Vec::with_capacity(size);
        for index in 0..size {
            let thread = PoolThread {
                queue: Arc::clone(&queue),
                report: report.clone(),
                waker: Arc::clone(&waker),
                busy_since: Arc::clone(&busy_since),
                index,
                epoch,
                high_water,
            };
            threads.push(
                std::thread::Builder::new()
                    .name(format!("app-{index}"))
                    .spawn(move || thread.run())?,
            );
        }
        Ok(Pool {
            jobs: Some(jobs),
            done,
            threads,
            busy_since,
            epoch,
            in_flight: 0,
        })
    }

    /// Queues a job for the next free thread.
    pub fn submit(&mut self, job: Job) {
        // The threads end only when `jobs` is dropped, so the send succeeds.
        if let Some(jobs) = &self.jobs {
            if jobs.send(job).is_ok() {
                self.in_flight += 1;
            }
        }
    }

    /// A finished job, if one has come back.
    pub fn next_done(&mut self) -> Option<Done> {
        match self.done.try_recv() {
            Ok(done) => {
                self.in_flight -= 1;
                Some(done)
            }
            Err(TryRecvError::Empty | TryRecvError::Disconnected) => None,
        }
    }

    /// Whether every job handed out has come back.
    pub fn is_idle(&self) -> bool {
        self.in_flight == 0
    }

    /// How long the longest-running job has been running: what the
    /// worker's heartbeat reports, so that the master's `--timeout` kills
    /// a worker with a thread stuck in the app as it kills one whose loop
    /// is stuck there.
    pub fn longest_busy(&self) -> Duration {
        let now = self.epoch.elapsed().as_millis() as u64 + 1;
        let oldest = self
            .busy_since
            .iter()
            .map(|since| since.load(Ordering::Relaxed))
            .filter(|&since| since != 0)
            .min();
        Duration::from_millis(oldest.map_or(0, |since| now.saturating_sub(since)))
    }

    /// Stops the threads once they have finished their jobs, and waits for
    /// them (with the GIL released, so that they can finish).
    pub fn stop(mut self, py: Python<'_>) {
        self.jobs = None;
        let threads = std::mem::take(&mut self.threads);
        py.detach(|| {
            for thread in threads {
                let _ = thread.join();
            }
        });
    }
}

/// What one pool thread owns.
struct PoolThread {
    queue: Arc<Mutex<Receiver<Job>>>,
    report: Sender<Done>,
    waker: Arc<Waker>,
    busy_since: Arc<[AtomicU64]>,
    index: usize,
    epoch: Instant,
    high_water: usize,
}

impl PoolThread {
    // ANCHOR: pool_thread
    /// Takes jobs until the pool stops. The thread stays attached to the
    /// interpreter (its thread state is made once), and releases the GIL
    /// while it waits for a job.
    fn run(self) {
        Python::attach(|py| {
            loop {
                let queue = &self.queue;
                let next = py.detach(|| {
                    let queue = queue.lock().unwrap_or_else(|poison| poison.into_inner());
                    queue.recv()
                });
                let Ok(job) = next else {
                    return; // the pool stopped
                };
                self.set_busy(true);
                let done = self.run_or_end_the_worker(py, job);
                self.set_busy(false);
                if self.report.send(done).is_err() {
                    return; // the loop has gone
                }
                let _ = self.waker.wake();
            }
        });
    }
    // ANCHOR_END: pool_thread

    /// Runs a job. A panic in it (a bug of the server's, not an
    /// exception of the app's: those are in the job's outcome) ends the
    /// worker, as it would without threads, and the master starts a new
    /// one: unwinding out of this thread instead would leave its
    /// connection waiting for a result that never comes.
    fn run_or_end_the_worker(&self, py: Python<'_>, job: Job) -> Done {
        let run = std::panic::AssertUnwindSafe(|| job.run(py, self.high_water));
        std::panic::catch_unwind(run).unwrap_or_else(|_| {
            crate::critical!("a pool thread panicked: the worker exits");
            std::process::abort()
        })
    }

    fn set_busy(&self, busy: bool) {
        let since = if busy {
            self.epoch.elapsed().as_millis() as u64 + 1
        } else {
            0
        };
        self.busy_since[self.index].store(since, Ordering::Relaxed);
    }
}

impl Job {
    // ANCHOR: job_run
    /// Runs the job: the same blocks the loop runs inline without a pool.
    fn run(self, py: Python<'_>, high_water: usize) -> Done {
        let Job {
            token,
            responder,
            work,
            output,
        } = self;
        let bound = responder.bind(py);
        let result = match work {
            Work::Call { app, environ } => {
                let step = begin(py, app.bind(py), environ.into_bound(py), bound);
                Report::Stepped(pull_in_memory(py, step, bound, &output, high_water))
            }
            Work::Step(progress) => {
                let step = progress.step(py, bound);
                Report::Stepped(pull_in_memory(py, step, bound, &output, high_water))
            }
            Work::Abandon(progress) => Report::Abandoned(progress.abandon(py, bound)),
        };
        Done {
            token,
            responder,
            result,
        }
    }
    // ANCHOR_END: job_run
}

/// Pulls on a body that is a list or a tuple (most apps' `[body]`) while
/// the connection's output is under the high-water mark: none of its
/// pieces can wait, so handing each back to the loop first would only
/// cost a round trip per piece. A body that may wait (a generator) goes
/// back to the loop after each piece, so that the piece is sent at once.
fn pull_in_memory(
    py: Python<'_>,
    mut step: Step,
    responder: &Bound<'_, Responder>,
    output: &Mutex<Buffer>,
    high_water: usize,
) -> Step {
    while let Step::More(progress) = step {
        let full = output
            .lock()
            .map_or(true, |output| output.len() >= high_water);
        if full || !progress.is_in_memory(py) {
            return Step::More(progress);
        }
        step = progress.step(py, responder);
    }
    step
}
