//! SQLite's one writer: a thread that owns a write connection and runs the jobs sent to it in
//! groups, one transaction a group (group commit).
//!
//! Through sqlx every SQLite statement is handed to the connection's own thread over a channel
//! and back, and SQLite lets one writer in at a time: a request's writes were several hand-offs
//! with the write lock held across them, and the portal's throughput was one over that time
//! (bench/README.md). Here a job runs on the thread that holds the lock, statement after statement
//! without a hand-off, and the jobs that queued meanwhile share its transaction: the writer takes
//! up to [`GROUP`] of them, runs each inside a `SAVEPOINT` (a job that fails is rolled back alone),
//! commits once, and only then answers each caller, so a request is answered after what it wrote
//! is in the log (a SIGKILL loses nothing that was answered). `rusqlite` rather than sqlx because
//! the point is to execute the statements on this thread; it links the same SQLite as sqlx.
//!
//! The statements are the store's own [`Batch`]es, the same text PostgreSQL runs (`$n`
//! placeholders, which SQLite reads as named parameters and binds here by their number).
//!
//! The writer takes the writers' turn ([`super::Store::write_turn`]) for each group, so the
//! writes still made through sqlx (the rarer paths) and the writer's never meet in SQLite's busy
//! handler. No caller may wait for the writer while it holds the turn.

use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::types::ValueRef;
use rusqlite::Connection;

use super::batch::{Batch, Value};

/// The most jobs one transaction takes.
const GROUP: usize = 64;

/// A row a statement returned, its columns in order.
#[derive(Debug, Clone)]
pub struct Row(Vec<Value>);

impl Row {
    /// A row sqlx returned (PostgreSQL), in the same form: integer and text columns.
    pub fn from_any(r: &sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
        use sqlx::Row as _;
        (0..r.len())
            .map(|i| match r.try_get::<Option<i64>, _>(i) {
                Ok(v) => Ok(Value::Int(v)),
                Err(_) => r.try_get(i).map(Value::Text),
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// Column `i` as text (NULL as `None`).
    pub fn text(&self, i: usize) -> Result<Option<String>, sqlx::Error> {
        match self.0.get(i) {
            Some(Value::Text(v)) => Ok(v.clone()),
            Some(Value::Int(None)) => Ok(None),
            _ => Err(sqlx::Error::ColumnDecode {
                index: i.to_string(),
                source: "not text".into(),
            }),
        }
    }

    /// Column `i` as an integer (NULL as `None`).
    pub fn int(&self, i: usize) -> Result<Option<i64>, sqlx::Error> {
        match self.0.get(i) {
            Some(Value::Int(v)) => Ok(*v),
            Some(Value::Text(None)) => Ok(None),
            _ => Err(sqlx::Error::ColumnDecode {
                index: i.to_string(),
                source: "not an integer".into(),
            }),
        }
    }
}

/// The writer's transaction, as a job sees it.
pub struct Tx<'a> {
    conn: &'a Connection,
}

impl Tx<'_> {
    /// Runs the batch's statements in order; the rows they returned, in order.
    pub fn run(&mut self, batch: Batch) -> Result<Vec<Row>, sqlx::Error> {
        let mut rows = Vec::new();
        for (sql, args) in batch.statements {
            self.statement(&sql, &args, &mut rows)
                .map_err(store_error)?;
        }
        Ok(rows)
    }

    fn statement(
        &self,
        sql: &str,
        args: &[Value],
        out: &mut Vec<Row>,
    ) -> Result<(), rusqlite::Error> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        for i in 1..=stmt.parameter_count() {
            // `$n` is a named parameter to SQLite, numbered by first appearance: bind by the name.
            let n = stmt
                .parameter_name(i)
                .and_then(|name| name.strip_prefix('$'))
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or(rusqlite::Error::InvalidParameterCount(i, args.len()))?;
            let v = args
                .get(n - 1)
                .ok_or(rusqlite::Error::InvalidParameterCount(n, args.len()))?;
            match v {
                Value::Int(v) => stmt.raw_bind_parameter(i, v)?,
                Value::Text(v) => stmt.raw_bind_parameter(i, v)?,
            }
        }
        let columns = stmt.column_count();
        let mut rows = stmt.raw_query();
        while let Some(row) = rows.next()? {
            let mut cells = Vec::with_capacity(columns);
            for c in 0..columns {
                cells.push(match row.get_ref(c)? {
                    ValueRef::Integer(v) => Value::Int(Some(v)),
                    ValueRef::Text(t) => Value::Text(Some(String::from_utf8_lossy(t).into_owned())),
                    ValueRef::Null => Value::Int(None),
                    ValueRef::Real(_) | ValueRef::Blob(_) => {
                        return Err(rusqlite::Error::InvalidColumnType(
                            c,
                            String::new(),
                            rusqlite::types::Type::Blob,
                        ))
                    }
                });
            }
            out.push(Row(cells));
        }
        Ok(())
    }
}

/// What a job leaves to do once its group's transaction ended: answer its caller with the
/// commit's outcome.
type Answer = Box<dyn FnOnce(Result<(), String>) + Send>;
/// A job: given the transaction (`None`: there is none, fail), whether it failed and its answer.
type Job = Box<dyn FnOnce(Option<&mut Tx<'_>>) -> (bool, Answer) + Send>;

/// The handle requests send their jobs through.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Writer")
    }
}

impl Writer {
    /// Opens the write connection to the database file at `path` and starts the writer's thread,
    /// which ends when the last handle is dropped.
    pub fn open(path: &str, turn: Arc<tokio::sync::Mutex<()>>) -> Result<Self, sqlx::Error> {
        let conn = Connection::open(path).map_err(store_error)?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(store_error)?;
        // As the pool's connections (Store::connect): durable across a crash of the process in
        // WAL mode, deleted data zeroed. Checkpoints are the checkpoint task's (Store::checkpoint):
        // SQLite's own, on the commit that takes the log past `wal_autocheckpoint`, would sync the
        // database file while every request waits for the writer (the p99: 41-48 ms at 10,000
        // pages, 32 ms with the task alone); 100,000 pages (400 MB) only bound the log if the task
        // stops. And the savepoints' journals in memory: SQLite spills them to a temporary file
        // past 64 KiB, and a group of jobs opened, wrote and deleted one per group (12 % of the
        // writer's time in bench/README.md's profile).
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL; \
             PRAGMA secure_delete=ON; PRAGMA wal_autocheckpoint=100000; PRAGMA temp_store=MEMORY;",
        )
        .map_err(store_error)?;
        conn.set_prepared_statement_cache_capacity(64);
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || serve(&conn, &turn, &queue))
            .map_err(sqlx::Error::Io)?;
        Ok(Self { jobs })
    }

    /// Runs `work` in the writer's next transaction and answers once it committed. An `Err` from
    /// `work` rolls back its own statements only; the others of the group commit.
    pub async fn run<T, F>(&self, work: F) -> Result<T, sqlx::Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> Result<T, sqlx::Error> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |t: Option<&mut Tx<'_>>| {
            let outcome = match t {
                Some(t) => work(t),
                None => Err(sqlx::Error::WorkerCrashed),
            };
            let failed = outcome.is_err();
            let answer: Answer = Box::new(move |committed| {
                let _ = tx.send(match committed {
                    Ok(()) => outcome,
                    Err(e) => outcome.and(Err(sqlx::Error::Protocol(e))),
                });
            });
            (failed, answer)
        });
        self.jobs
            .send(job)
            .map_err(|_| sqlx::Error::WorkerCrashed)?;
        rx.await.map_err(|_| sqlx::Error::WorkerCrashed)?
    }
}

/// The writer's loop: a group of jobs, one transaction, then the answers.
fn serve(conn: &Connection, turn: &tokio::sync::Mutex<()>, queue: &mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut group = vec![first];
        group.extend(queue.try_iter().take(GROUP - 1));
        let held = turn.blocking_lock();
        let mut answers = Vec::with_capacity(group.len());
        let committed = match conn.execute_batch("BEGIN IMMEDIATE") {
            Ok(()) => {
                let mut tx = Tx { conn };
                answers.extend(group.into_iter().map(|job| one(conn, &mut tx, job)));
                conn.execute_batch("COMMIT").map_err(|e| {
                    let _ = conn.execute_batch("ROLLBACK");
                    e.to_string()
                })
            }
            Err(e) => {
                answers.extend(group.into_iter().map(|job| job(None).1));
                Err(e.to_string())
            }
        };
        drop(held);
        if let Err(e) = &committed {
            tracing::error!(error = %e, "the writer's transaction failed");
        }
        for answer in answers {
            answer(committed.clone());
        }
    }
}

/// One job in its own savepoint: rolled back alone when it fails.
fn one(conn: &Connection, tx: &mut Tx<'_>, job: Job) -> Answer {
    if let Err(e) = conn.execute_batch("SAVEPOINT job") {
        let msg = e.to_string();
        let answer = job(None).1;
        return Box::new(move |_| answer(Err(msg)));
    }
    // A job that panics (a bug) fails its own caller, whose answer went with it, and is rolled
    // back like a failed one; the writer goes on serving the others.
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(Some(tx))));
    let (failed, answer): (bool, Answer) = match ran {
        Ok(done) => done,
        Err(_) => {
            tracing::error!("a job of the writer panicked; its request failed");
            (true, Box::new(|_| {}))
        }
    };
    let ended = match failed {
        true => conn.execute_batch("ROLLBACK TO job; RELEASE job"),
        false => conn.execute_batch("RELEASE job"),
    };
    match ended {
        Ok(()) => answer,
        Err(e) => {
            let msg = e.to_string();
            Box::new(move |_| answer(Err(msg)))
        }
    }
}

/// A SQLite error as the store reports every other: a database error with SQLite's code.
fn store_error(e: rusqlite::Error) -> sqlx::Error {
    match e {
        rusqlite::Error::SqliteFailure(code, msg) => sqlx::Error::Database(Box::new(Failure {
            unique: code.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || code.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY,
            message: msg.unwrap_or_else(|| code.to_string()),
        })),
        e => sqlx::Error::Protocol(e.to_string()),
    }
}

/// What [`store_error`] makes of a failed statement.
#[derive(Debug)]
struct Failure {
    message: String,
    unique: bool,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

impl sqlx::error::DatabaseError for Failure {
    fn message(&self) -> &str {
        &self.message
    }
    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }
    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }
    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }
    fn kind(&self) -> sqlx::error::ErrorKind {
        match self.unique {
            true => sqlx::error::ErrorKind::UniqueViolation,
            false => sqlx::error::ErrorKind::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn scratch() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("portal-writer-{:x}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("w.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch(
                "PRAGMA journal_mode=WAL; CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER);",
            )
            .unwrap();
        path
    }

    fn insert(b: &mut Batch, k: &str, v: i64) {
        b.push(
            "INSERT INTO t (k, v) VALUES ($1, $2)",
            vec![k.into(), v.into()],
        );
    }

    /// Twenty requests at once: the one whose job fails is rolled back alone, every other is
    /// answered only once its row is committed (another connection sees it at the answer).
    #[tokio::test]
    async fn a_failed_job_rolls_back_alone_and_answers_come_after_the_commit() {
        let path = scratch();
        let writer = Writer::open(path.to_str().unwrap(), Arc::default()).unwrap();
        let tasks: Vec<_> = (0..20_i64)
            .map(|i| {
                let (writer, path) = (writer.clone(), path.clone());
                tokio::spawn(async move {
                    let answer = writer
                        .run(move |tx| {
                            let mut b = Batch::new();
                            insert(&mut b, &format!("k{i}"), i);
                            if i == 7 {
                                insert(&mut b, "k7", 0);
                            }
                            tx.run(b)
                        })
                        .await;
                    let reader = Connection::open(&path).unwrap();
                    let seen: i64 = reader
                        .query_row(
                            "SELECT COUNT(*) FROM t WHERE k = ?1",
                            [format!("k{i}")],
                            |r| r.get(0),
                        )
                        .unwrap();
                    (i, answer.map(drop), seen)
                })
            })
            .collect();
        for task in tasks {
            let (i, answer, seen) = task.await.unwrap();
            if i == 7 {
                let e = answer.unwrap_err();
                assert!(crate::store::is_unique_violation(&e), "{e}");
                assert_eq!(seen, 0, "the failed job's first insert stayed");
            } else {
                assert!(answer.is_ok(), "job {i}: {answer:?}");
                assert_eq!(seen, 1, "job {i} was answered before its row was committed");
            }
        }
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    /// A job that panics fails its own caller only: its writes are rolled back, and the writer
    /// serves the next job.
    #[tokio::test]
    async fn a_job_that_panics_fails_alone_and_the_writer_goes_on() {
        let path = scratch();
        let writer = Writer::open(path.to_str().unwrap(), Arc::default()).unwrap();
        let panicked = writer
            .run(|tx| -> Result<(), sqlx::Error> {
                let mut b = Batch::new();
                insert(&mut b, "lost", 1);
                tx.run(b)?;
                panic!("a bug in a job");
            })
            .await;
        assert!(panicked.is_err());
        let after = writer
            .run(|tx| {
                let mut b = Batch::new();
                insert(&mut b, "kept", 2);
                b.push("SELECT COUNT(*) FROM t", vec![]);
                tx.run(b)
            })
            .await
            .unwrap();
        assert_eq!(
            after[0].int(0).unwrap(),
            Some(1),
            "the panicked job's row stayed"
        );
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    /// `$n` is bound by its number, wherever it first appears in the text, and rows come back
    /// with their columns.
    #[tokio::test]
    async fn parameters_bind_by_their_number_in_any_order() {
        let path = scratch();
        let writer = Writer::open(path.to_str().unwrap(), Arc::default()).unwrap();
        let rows = writer
            .run(|tx| {
                let mut b = Batch::new();
                b.push(
                    "SELECT $2 - $1, $1, NULL",
                    vec![1_i64.into(), 10_i64.into()],
                );
                tx.run(b)
            })
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].int(0).unwrap(), Some(9));
        assert_eq!(rows[0].int(1).unwrap(), Some(1));
        assert_eq!(rows[0].int(2).unwrap(), None);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }
}
