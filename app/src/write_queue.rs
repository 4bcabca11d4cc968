//! Durable writes, grouped.
//!
//! A paid order must be on disk (fsynced) before the shopper hears of it, and one fsync per
//! order caps SQLite at a few hundred orders a second. So on SQLite one writer task owns the
//! writes: it takes every job waiting in its queue, runs each inside its own savepoint of one
//! transaction (a failing job rolls back to its savepoint and leaves the others alone), commits
//! once, and only then answers each job. One fsync covers the whole group, and the single writer
//! also means two writers of this process never fight over SQLite's lock. Another process on
//! the same file (`kassa import` beside a running shop) takes the lock between groups; each
//! side waits for the other up to `busy_timeout`, which is why long jobs write in short
//! transactions (an import commits every 400 products).
//!
//! Postgres groups concurrent commits into one WAL flush by itself and locks rows, not the
//! database, so there each job simply runs in its own transaction in the caller's task.
//!
//! Every write of the shop goes through here (the queue belongs to [`crate::db::Db`]), so on
//! SQLite the writer is the only connection that ever takes the write lock inside this process.
//! A job that panics fails alone: its savepoint is rolled back, its caller gets an error, and the
//! writer goes on with the next job. [`WriteQueue::is_running`] tells the health check whether
//! the writer is still there.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use sqlx::{AnyConnection, AnyPool};
use tokio::sync::{mpsc, oneshot, Notify};

/// The future a job returns, borrowing the connection it runs on.
pub type JobFuture<'c, T> = Pin<Box<dyn Future<Output = T> + Send + 'c>>;

/// What a job asked to be done once its writes are committed ([`after_commit`]).
type Committed = Arc<Mutex<Vec<Box<dyn FnOnce() + Send>>>>;

tokio::task_local! {
    /// The job being written's [`after_commit`] list.
    static AFTER_COMMIT: Committed;
}

/// Calls `then` once the writes of the job this is called in are committed, and never if they
/// are rolled back; outside a job, at once. For telling the rest of the process what changed
/// only when it can be read: a reader told earlier could read, and keep, what was there before.
pub fn after_commit(then: impl FnOnce() + Send + 'static) {
    let mut then = Some(then);
    let _ = AFTER_COMMIT.try_with(|list| {
        if let Some(then) = then.take() {
            list.lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(Box::new(then));
        }
    });
    if let Some(then) = then {
        then();
    }
}

/// Runs what `list` holds, once its job's writes are committed.
fn committed(list: &Committed) {
    let calls = std::mem::take(&mut *list.lock().unwrap_or_else(|e| e.into_inner()));
    for call in calls {
        call();
    }
}

/// At most this many jobs share one commit; more wait for the next.
const MAX_GROUP: usize = 256;

/// Commits and jobs written by grouped writers in this process, for benchmarks and metrics.
static GROUPS: AtomicU64 = AtomicU64::new(0);
static GROUPED_JOBS: AtomicU64 = AtomicU64::new(0);

/// (commits, jobs) written through grouped commits so far.
pub fn group_stats() -> (u64, u64) {
    (
        GROUPS.load(Ordering::Relaxed),
        GROUPED_JOBS.load(Ordering::Relaxed),
    )
}

#[derive(Clone, Debug)]
pub struct WriteQueue {
    inner: Inner,
}

#[derive(Clone, Debug)]
enum Inner {
    Grouped {
        sender: mpsc::Sender<Box<dyn Job>>,
        /// Ends the writer (at shutdown) once the jobs already queued are written.
        stop: Arc<Notify>,
        pool: AnyPool,
    },
    Direct(AnyPool),
}

impl WriteQueue {
    /// One writer task that groups every write into shared commits (SQLite).
    /// `settings` are run on the writer's connection, after the pool's own.
    pub fn grouped(pool: &AnyPool, settings: &'static [&'static str]) -> WriteQueue {
        let (sender, receiver) = mpsc::channel(4 * MAX_GROUP);
        let stop = Arc::new(Notify::new());
        let writer = Writer {
            pool: pool.clone(),
            settings,
            conn: None,
        };
        tokio::spawn(write_groups(writer, receiver, stop.clone()));
        WriteQueue {
            inner: Inner::Grouped {
                sender,
                stop,
                pool: pool.clone(),
            },
        }
    }

    /// Each write in its own transaction in the caller's task (Postgres).
    pub fn direct(pool: &AnyPool) -> WriteQueue {
        WriteQueue {
            inner: Inner::Direct(pool.clone()),
        }
    }

    /// Whether writes can still be taken: false once the SQLite writer task has ended.
    pub fn is_running(&self) -> bool {
        match &self.inner {
            Inner::Grouped { sender, pool, .. } => !sender.is_closed() && !pool.is_closed(),
            Inner::Direct(pool) => !pool.is_closed(),
        }
    }

    /// Stops taking writes: the SQLite writer finishes the group it is writing and ends; later
    /// writes fail. For shutdown (and for tests of what happens without a writer).
    pub fn stop(&self) {
        if let Inner::Grouped { stop, .. } = &self.inner {
            stop.notify_one();
        }
    }

    /// Runs `job` in a transaction (or savepoint) and answers once its changes are committed.
    /// An `Err` from the job undoes everything it wrote.
    pub async fn run<T, E, F>(&self, job: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<sqlx::Error> + Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> JobFuture<'c, Result<T, E>> + Send + 'static,
    {
        match &self.inner {
            Inner::Direct(pool) => {
                let mut tx = pool.begin().await?;
                let then = Committed::default();
                let outcome = AFTER_COMMIT
                    .scope(then.clone(), run_caught(job(&mut tx)))
                    .await;
                match outcome {
                    Ok(value) => {
                        tx.commit().await?;
                        committed(&then);
                        Ok(value)
                    }
                    Err(error) => {
                        tx.rollback().await?;
                        Err(error)
                    }
                }
            }
            Inner::Grouped { sender, .. } => {
                let (reply, answer) = oneshot::channel();
                let job = FnJob {
                    job: Some(job),
                    outcome: None,
                    then: Committed::default(),
                    reply,
                };
                sender
                    .send(Box::new(job))
                    .await
                    .map_err(|_| E::from(sqlx::Error::PoolClosed))?;
                answer
                    .await
                    .unwrap_or_else(|_| Err(E::from(sqlx::Error::PoolClosed)))
            }
        }
    }
}

trait Job: Send {
    /// Runs the job; `true` keeps its writes, `false` rolls them back.
    fn run<'c>(&'c mut self, conn: &'c mut AnyConnection) -> JobFuture<'c, bool>;
    /// Answers the caller once the group's commit is known.
    fn finish(self: Box<Self>, commit: Result<(), String>);
}

impl std::fmt::Debug for dyn Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Job")
    }
}

struct FnJob<T, E, F> {
    job: Option<F>,
    outcome: Option<Result<T, E>>,
    /// What the job asked to be done after the commit.
    then: Committed,
    reply: oneshot::Sender<Result<T, E>>,
}

impl<T, E, F> Job for FnJob<T, E, F>
where
    T: Send + 'static,
    E: From<sqlx::Error> + Send + 'static,
    F: for<'c> FnOnce(&'c mut AnyConnection) -> JobFuture<'c, Result<T, E>> + Send + 'static,
{
    fn run<'c>(&'c mut self, conn: &'c mut AnyConnection) -> JobFuture<'c, bool> {
        Box::pin(async move {
            let Some(job) = self.job.take() else {
                return false;
            };
            let outcome = AFTER_COMMIT
                .scope(self.then.clone(), run_caught(job(conn)))
                .await;
            let keep = outcome.is_ok();
            self.outcome = Some(outcome);
            keep
        })
    }

    fn finish(self: Box<Self>, commit: Result<(), String>) {
        let answer = match (commit, self.outcome) {
            (_, Some(Err(error))) => Err(error),
            (Ok(()), Some(Ok(value))) => {
                committed(&self.then);
                Ok(value)
            }
            (Err(message), _) => Err(E::from(sqlx::Error::Protocol(message))),
            (Ok(()), None) => Err(E::from(sqlx::Error::Protocol("job did not run".into()))),
        };
        // The caller may have gone away (a closed connection); the write stands regardless.
        let _ = self.reply.send(answer);
    }
}

/// Runs a job, turning a panic inside it into an error for its caller alone.
async fn run_caught<T, E>(job: impl Future<Output = Result<T, E>>) -> Result<T, E>
where
    E: From<sqlx::Error>,
{
    match AssertUnwindSafe(job).catch_unwind().await {
        Ok(outcome) => outcome,
        Err(panic) => {
            let message = panic_message(panic.as_ref());
            tracing::error!(panic = %message, "a write job panicked; its writes were rolled back");
            Err(E::from(sqlx::Error::Protocol(format!(
                "the write failed: {message}"
            ))))
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into())
}

/// The writer's own connection, taken out of the pool (which opens another for readers) and
/// kept from one group to the next. SQLite drops a connection's whole page cache when another
/// connection committed since its last transaction, and the pool hands out its idle connections
/// in turn: a writer taking one per group started each group with a cold cache and read the
/// pages it had just written again (a 100,000-product import read the database file 2.4 million
/// times; 1.6 million with its own connection, and in 52 s instead of 58).
struct Writer {
    pool: AnyPool,
    settings: &'static [&'static str],
    conn: Option<AnyConnection>,
}

impl Writer {
    async fn connection(&mut self) -> Result<&mut AnyConnection, sqlx::Error> {
        if self.pool.is_closed() {
            // Closing the pool stops the shop's writes, as when the writer took from it.
            self.conn = None;
            return Err(sqlx::Error::PoolClosed);
        }
        if self.conn.is_none() {
            let mut conn = self.pool.acquire().await?.detach();
            for setting in self.settings {
                sqlx::Executor::execute(&mut conn, *setting).await?;
            }
            self.conn = Some(conn);
        }
        Ok(self.conn.as_mut().expect("connected above"))
    }
}

async fn write_groups(
    mut writer: Writer,
    mut queue: mpsc::Receiver<Box<dyn Job>>,
    stop: Arc<Notify>,
) {
    let mut group: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_GROUP);
    loop {
        let first = tokio::select! {
            job = queue.recv() => job,
            () = stop.notified() => None,
        };
        let Some(first) = first else {
            break;
        };
        group.push(first);
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        GROUPS.fetch_add(1, Ordering::Relaxed);
        GROUPED_JOBS.fetch_add(group.len() as u64, Ordering::Relaxed);
        let commit = write_group(&mut writer, &mut group).await.map_err(|error| {
            tracing::error!(%error, jobs = group.len(), "a group of writes failed");
            // Whatever state the failure left the connection in, the next group starts on a
            // new one.
            writer.conn = None;
            format!("the write could not be committed: {error}")
        });
        for job in group.drain(..) {
            job.finish(commit.clone());
        }
    }
}

async fn write_group(writer: &mut Writer, group: &mut [Box<dyn Job>]) -> Result<(), sqlx::Error> {
    let conn = writer.connection().await?;
    // IMMEDIATE takes the write lock up front, so nothing read in the group can go stale.
    sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
    // Jobs catch their own panics; this catches one in the driver itself, so the transaction
    // is still rolled back.
    let result = run_caught(async {
        for job in group.iter_mut() {
            sqlx::query("SAVEPOINT job").execute(&mut *conn).await?;
            if !job.run(&mut *conn).await {
                sqlx::query("ROLLBACK TO job").execute(&mut *conn).await?;
            }
            sqlx::query("RELEASE job").execute(&mut *conn).await?;
        }
        sqlx::query("COMMIT").execute(&mut *conn).await?;
        Ok(())
    })
    .await;
    if result.is_err() {
        let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
    }
    result
}
