//! Durable writes, grouped.
//!
//! A paid order must be on disk (fsynced) before the shopper hears of it, and one fsync per
//! order caps SQLite at a few hundred orders a second. So on SQLite one writer task owns the
//! writes: it takes every job waiting in its queue, runs each inside its own savepoint of one
//! transaction (a failing job rolls back to its savepoint and leaves the others alone), commits
//! once, and only then answers each job. One fsync covers the whole group, and the single writer
//! also means SQLite never sees two writers fight over its lock.
//!
//! Postgres groups concurrent commits into one WAL flush by itself and locks rows, not the
//! database, so there each job simply runs in its own transaction in the caller's task.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::{AnyConnection, AnyPool};
use tokio::sync::{mpsc, oneshot};

use crate::db::{Backend, Db};

/// The future a job returns, borrowing the connection it runs on.
pub type JobFuture<'c, T> = Pin<Box<dyn Future<Output = T> + Send + 'c>>;

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
    Grouped(mpsc::Sender<Box<dyn Job>>),
    Direct(AnyPool),
}

impl WriteQueue {
    /// Starts the writer task on SQLite; on Postgres, nothing to start.
    pub fn start(db: &Db) -> WriteQueue {
        let inner = match db.backend() {
            Backend::Sqlite => {
                let (sender, receiver) = mpsc::channel(4 * MAX_GROUP);
                tokio::spawn(write_groups(db.pool().clone(), receiver));
                Inner::Grouped(sender)
            }
            Backend::Postgres => Inner::Direct(db.pool().clone()),
        };
        WriteQueue { inner }
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
                let outcome = job(&mut tx).await;
                match outcome {
                    Ok(value) => {
                        tx.commit().await?;
                        Ok(value)
                    }
                    Err(error) => {
                        tx.rollback().await?;
                        Err(error)
                    }
                }
            }
            Inner::Grouped(sender) => {
                let (reply, answer) = oneshot::channel();
                let job = FnJob {
                    job: Some(job),
                    outcome: None,
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
            let outcome = job(conn).await;
            let keep = outcome.is_ok();
            self.outcome = Some(outcome);
            keep
        })
    }

    fn finish(self: Box<Self>, commit: Result<(), String>) {
        let answer = match (commit, self.outcome) {
            (_, Some(Err(error))) => Err(error),
            (Ok(()), Some(Ok(value))) => Ok(value),
            (Err(message), _) => Err(E::from(sqlx::Error::Protocol(message))),
            (Ok(()), None) => Err(E::from(sqlx::Error::Protocol("job did not run".into()))),
        };
        // The caller may have gone away (a closed connection); the write stands regardless.
        let _ = self.reply.send(answer);
    }
}

async fn write_groups(pool: AnyPool, mut queue: mpsc::Receiver<Box<dyn Job>>) {
    let mut group: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_GROUP);
    while let Some(first) = queue.recv().await {
        group.push(first);
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        GROUPS.fetch_add(1, Ordering::Relaxed);
        GROUPED_JOBS.fetch_add(group.len() as u64, Ordering::Relaxed);
        let commit = write_group(&pool, &mut group).await.map_err(|error| {
            tracing::error!(%error, jobs = group.len(), "a group of writes failed");
            format!("the write could not be committed: {error}")
        });
        for job in group.drain(..) {
            job.finish(commit.clone());
        }
    }
}

async fn write_group(pool: &AnyPool, group: &mut [Box<dyn Job>]) -> Result<(), sqlx::Error> {
    let mut conn = pool.acquire().await?;
    // IMMEDIATE takes the write lock up front, so nothing read in the group can go stale.
    sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
    let result = async {
        for job in group.iter_mut() {
            sqlx::query("SAVEPOINT job").execute(&mut *conn).await?;
            if !job.run(&mut conn).await {
                sqlx::query("ROLLBACK TO job").execute(&mut *conn).await?;
            }
            sqlx::query("RELEASE job").execute(&mut *conn).await?;
        }
        sqlx::query("COMMIT").execute(&mut *conn).await?;
        Ok(())
    }
    .await;
    if result.is_err() {
        let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
    }
    result
}
