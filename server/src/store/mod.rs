//! Every SQL statement of the portal lives under this module, one file per table group.
//!
//! One code path serves both backends through sqlx's `Any` driver: the statements use `$n`
//! placeholders, which SQLite and PostgreSQL both read, and only portable types (i64, text).
//! Times are Unix seconds. The two schema folders under `migrations/` hold the same tables.

pub mod admin;
pub mod audit;
pub mod batch;
pub mod limits;
pub mod meetings;
pub mod outbox;
pub mod reset;
pub mod sessions;
pub mod users;
pub mod writer;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::OwnedMutexGuard;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, Connection, Executor, Transaction};

pub type Conn = sqlx::AnyConnection;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The database: a pool and which backend is behind it.
#[derive(Debug, Clone)]
pub struct Store {
    pub pool: AnyPool,
    pub backend: Backend,
    /// SQLite's writers take turns here, in order, before they ask SQLite for its one write
    /// lock: a writer that finds the lock taken sleeps in SQLite's busy handler (1, 2, 5 … 100 ms
    /// steps) and can keep losing, while this queue wakes the next writer the moment the last
    /// one ends. Always taken after the connection, never before, so no writer waits for a
    /// connection while others wait for it here.
    gate: Arc<tokio::sync::Mutex<()>>,
    /// SQLite's writer thread (store/writer.rs), which the hot paths' writes go through.
    writer: Option<writer::Writer>,
}

/// A write transaction; on SQLite it holds the writers' turn ([`Store::write_turn`]) until it
/// ends.
pub struct WriteTx<'c> {
    tx: Transaction<'c, Any>,
    _turn: Option<OwnedMutexGuard<()>>,
}

impl<'c> std::ops::Deref for WriteTx<'c> {
    type Target = Transaction<'c, Any>;
    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

impl WriteTx<'_> {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}

/// How long a writer waits for its turn: SQLite's own busy timeout.
const TURN_TIMEOUT: Duration = Duration::from_secs(5);

/// How often [`Store::checkpoint`] copies SQLite's write-ahead log back into the database.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

impl Store {
    /// Connects and applies the pragmas SQLite needs to serve concurrent requests safely: WAL so
    /// readers never wait for the writer, a busy timeout instead of instant "database is locked",
    /// foreign keys on, and `synchronous=NORMAL`, which in WAL mode stays durable across
    /// application crashes (a power cut may lose the last transactions, never corrupt). And
    /// `secure_delete`, so what is deleted or overwritten (an erased outbox payload, a consumed
    /// grant) is zeroed in the file instead of lingering in free pages for a backup to keep.
    pub async fn connect(url: &str) -> Result<Self, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        // Only a `sqlite:` URL names a file (`None` in memory and on PostgreSQL).
        let file = sqlite_path(url);
        if let Some(path) = &file {
            let dir = std::path::Path::new(path).parent();
            if let Some(dir) = dir.filter(|d| !d.as_os_str().is_empty()) {
                crate::files::private_dir(dir).map_err(sqlx::Error::Io)?;
            }
            // Created empty and owner-only before SQLite opens it: SQLite gives the `-wal`
            // and `-shm` files the database file's mode, whatever the process umask.
            crate::files::private_file_options()
                .write(true)
                .create(true)
                .truncate(false)
                .open(path)
                .map_err(sqlx::Error::Io)?;
        }
        let opts: AnyConnectOptions = url.parse()?;
        // On SQLite the pool serves the reads and the rarer writes; the hot writes go through the
        // writer thread (store/writer.rs), and the pool's writers take turns in the server
        // (`write_turn`), so none sleeps in SQLite's busy handler. Four connections: a
        // verification reads four times, and with two, sixteen in flight queued for them (verify
        // 2,992 -> 4,474-4,695/s with four, bench/README.md); each adds its page cache to the
        // peak (70.8 MB with four, the target is 80). With eight, before the writer, writers lost
        // the lock to each other and the p99 was 130-480 ms. No handler holds a connection while
        // it waits for another or for the writer, and requests run to completion (startup.rs), so
        // no abandoned transaction keeps the lock.
        let max = match backend {
            Backend::Sqlite => 4,
            Backend::Postgres => 16,
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            // A SQLite file does not go away between uses; a ping before every checkout was a
            // round trip to the connection's thread. PostgreSQL's are checked.
            .test_before_acquire(backend == Backend::Postgres)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute(
                            "PRAGMA journal_mode=WAL; PRAGMA busy_timeout=5000; \
                             PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL; \
                             PRAGMA secure_delete=ON; PRAGMA wal_autocheckpoint=10000;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(opts)
            .await?;
        let gate = Arc::new(tokio::sync::Mutex::new(()));
        let writer = file
            .map(|path| writer::Writer::open(&path, gate.clone()))
            .transpose()?;
        Ok(Self {
            pool,
            backend,
            gate,
            writer,
        })
    }

    /// Connects and applies the migrations, with errors worded for the operator.
    pub async fn open(url: &str) -> Result<Self, String> {
        let store = match Self::connect(url).await {
            Ok(store) => store,
            Err(e) => {
                let why = Self::why_not(url, e).await;
                return Err(format!("configuration error: DATABASE_URL: {why}"));
            }
        };
        store
            .migrate()
            .await
            .map_err(|e| format!("database migration failed: {e}"))?;
        Ok(store)
    }

    /// Why `url` cannot be opened, in words. The pool retries a failed connection until its
    /// acquire timeout and then reports only "pool timed out", so one direct attempt recovers
    /// the cause (connection refused, no such host, authentication failed).
    async fn why_not(url: &str, e: sqlx::Error) -> String {
        let Ok(parsed) = url::Url::parse(url) else {
            return format!("cannot connect ({e})");
        };
        if url.starts_with("sqlite:") {
            let path = sqlite_path(url).unwrap_or_default();
            return format!("cannot open the SQLite database {path} ({e})");
        }
        let at = format!(
            "{}:{}",
            parsed.host_str().unwrap_or("localhost"),
            parsed.port().unwrap_or(5432)
        );
        let cause = match e {
            sqlx::Error::PoolTimedOut => {
                match tokio::time::timeout(
                    Duration::from_secs(5),
                    sqlx::AnyConnection::connect(url),
                )
                .await
                {
                    Ok(Err(e)) => e,
                    Ok(Ok(_)) => sqlx::Error::PoolTimedOut,
                    Err(_) => {
                        return format!("cannot connect to PostgreSQL at {at} (no answer in 5 s)")
                    }
                }
            }
            e => e,
        };
        let cause = match cause {
            sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                "connection refused".to_string()
            }
            sqlx::Error::Io(io) => io.to_string(),
            sqlx::Error::Database(db) => db.message().to_string(),
            e => e.to_string(),
        };
        format!("cannot connect to PostgreSQL at {at} ({cause})")
    }

    fn migrator(&self) -> sqlx::migrate::Migrator {
        match self.backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
        }
    }

    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        self.migrator().run(&self.pool).await
    }

    /// Are all migrations applied? (For `/readyz`.)
    pub async fn is_ready(&self) -> bool {
        let expected = self.migrator().iter().count();
        let applied: Result<i64, _> =
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_one(&self.pool)
                .await;
        matches!(applied, Ok(n) if usize::try_from(n).unwrap_or(0) >= expected)
    }

    pub async fn conn(&self) -> Result<PoolConnection<Any>, sqlx::Error> {
        self.pool.acquire().await
    }

    /// A write transaction on a connection the caller already holds, so a handler never waits for
    /// a second pooled connection while holding one (under load that deadlocks the pool). On
    /// SQLite it waits for the writers' turn, then takes the write lock up front (`BEGIN
    /// IMMEDIATE`): a deferred transaction that reads and then writes can fail with SQLITE_BUSY
    /// when another writer committed in between, which the busy timeout cannot cure.
    pub async fn begin_on<'c>(&self, c: &'c mut Conn) -> Result<WriteTx<'c>, sqlx::Error> {
        let turn = self.write_turn().await?;
        let tx = match self.backend {
            Backend::Sqlite => Connection::begin_with(c, "BEGIN IMMEDIATE").await?,
            Backend::Postgres => Connection::begin(c).await?,
        };
        Ok(WriteTx { tx, _turn: turn })
    }

    /// The writers' turn on SQLite (nothing on PostgreSQL), for a write outside a transaction;
    /// held until dropped. Take it with the connection in hand, and not inside a [`WriteTx`],
    /// which holds it already.
    pub async fn write_turn(&self) -> Result<Option<OwnedMutexGuard<()>>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => tokio::time::timeout(TURN_TIMEOUT, self.gate.clone().lock_owned())
                .await
                .map(Some)
                .map_err(|_| sqlx::Error::PoolTimedOut),
            Backend::Postgres => Ok(None),
        }
    }

    /// Runs `work` on SQLite's writer thread, in its next group's transaction, and answers once
    /// that committed (store/writer.rs). Only on SQLite, and never while holding the writers'
    /// turn, which the writer takes.
    pub async fn write<T, F>(&self, work: F) -> Result<T, sqlx::Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut writer::Tx<'_>) -> Result<T, sqlx::Error> + Send + 'static,
    {
        match &self.writer {
            Some(w) => w.run(work).await,
            None => Err(sqlx::Error::Configuration(
                "the writer thread serves a SQLite file only".into(),
            )),
        }
    }

    /// Applies a piece of work's statements at once and returns their rows, or, when `keep`
    /// says no to the rows, undoes them and returns `None` (a conditional write that lost its
    /// race). On SQLite a job of the writer thread; on PostgreSQL a transaction on a pooled
    /// connection. The caller holds no connection meanwhile.
    pub async fn apply(
        &self,
        batch: batch::Batch,
        keep: fn(&[writer::Row]) -> bool,
    ) -> Result<Option<Vec<writer::Row>>, sqlx::Error> {
        if self.backend == Backend::Sqlite {
            let ran = self
                .write(move |tx| {
                    let rows = tx.run(batch)?;
                    // An error rolls the job back alone; this one only says it lost.
                    match keep(&rows) {
                        true => Ok(rows),
                        false => Err(sqlx::Error::RowNotFound),
                    }
                })
                .await;
            return match ran {
                Ok(rows) => Ok(Some(rows)),
                Err(sqlx::Error::RowNotFound) => Ok(None),
                Err(e) => Err(e),
            };
        }
        let mut c = self.conn().await?;
        let mut tx = self.begin_on(&mut c).await?;
        let rows = batch
            .run(&mut tx)
            .await?
            .iter()
            .map(writer::Row::from_any)
            .collect::<Result<Vec<_>, _>>()?;
        if !keep(&rows) {
            return Ok(None);
        }
        tx.commit().await?;
        Ok(Some(rows))
    }

    /// On SQLite, copies the write-ahead log back into the database file every
    /// [`CHECKPOINT_EVERY`], on a connection of its own, until `stop`. Left to SQLite, the commit
    /// that crosses the log's size limit does it, writing the pages back and syncing the file
    /// while it holds the write lock, and every writer queued behind it waits (bench/README.md).
    /// A passive checkpoint takes no write lock: requests go on writing while it runs. The
    /// pool's connections still checkpoint by themselves past 10,000 pages (`wal_autocheckpoint`),
    /// so the log stays bounded if this task cannot keep up or cannot connect.
    pub async fn checkpoint(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        if self.backend != Backend::Sqlite {
            return;
        }
        let options = self.pool.connect_options();
        let mut conn = match sqlx::AnyConnection::connect_with(&options).await {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!(error = %e, "cannot open the checkpoint connection; commits checkpoint instead");
                return;
            }
        };
        // A failure is logged when it starts and when it ends, not ten times a second.
        let mut failing = false;
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                () = tokio::time::sleep(CHECKPOINT_EVERY) => {}
            }
            match self.checkpoint_once(&mut conn).await {
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(error = %e, "checkpoints fail; commits checkpoint past 10,000 pages meanwhile");
                }
                Ok(_) if failing => {
                    failing = false;
                    tracing::info!("checkpoints work again");
                }
                _ => {}
            }
        }
        let _ = conn.close().await;
    }

    /// One checkpoint in two passes. The first copies the log beside the writers; it cannot
    /// reach the log's end while they keep appending, and a log never copied to its end is never
    /// restarted: it grew by 400 MB in 12 s under a flood, until the writer's own checkpoint at
    /// 10,000 pages (which syncs the file while every writer waits) bounded it. The second pass,
    /// in the writers' turn, copies only what came meanwhile, so the log is copied to its end and
    /// the next write starts it again from the beginning.
    async fn checkpoint_once(&self, conn: &mut Conn) -> Result<(), sqlx::Error> {
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").await?;
        let _turn = self.write_turn().await?;
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").await?;
        Ok(())
    }

    pub async fn ping(&self) -> bool {
        match self.pool.acquire().await {
            Ok(mut c) => c.ping().await.is_ok(),
            Err(_) => false,
        }
    }
}

/// The file a `sqlite:` URL names; `None` for an in-memory database.
pub fn sqlite_path(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then(|| path.to_string())
}

/// SQLite and PostgreSQL both report a unique violation; this tells it apart from other errors.
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// Decodes a text column into the type it stands for, once, here at the boundary: an unknown
/// value is a decode error, never a default that would act on the wrong thing.
pub fn decode<T>(
    row: &sqlx::any::AnyRow,
    column: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<T, sqlx::Error> {
    use sqlx::Row;
    let text: String = row.try_get(column)?;
    parse(&text).ok_or_else(|| sqlx::Error::ColumnDecode {
        index: column.to_string(),
        source: format!("unexpected value {text:?}").into(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The write-ahead log is copied back into the database by the checkpoint task, not left to
    /// a commit (which, past `wal_autocheckpoint`, would do it while holding the write lock).
    #[tokio::test]
    async fn the_checkpoint_task_copies_the_log_into_the_database_file() {
        let dir = std::env::temp_dir().join(format!("portal-ckpt-{:x}", rand::random::<u64>()));
        let file = dir.join("portal.db");
        let store = Store::open(&format!("sqlite://{}?mode=rwc", file.display()))
            .await
            .unwrap();
        let size = || std::fs::metadata(&file).unwrap().len();
        let before = size();
        let mut c = store.conn().await.unwrap();
        let detail = "x".repeat(1000);
        for i in 0..400 {
            sqlx::query("INSERT INTO audit_events (at, kind, detail) VALUES ($1, 'test', $2)")
                .bind(i)
                .bind(&detail)
                .execute(&mut *c)
                .await
                .unwrap();
        }
        // 400 kB written, all of it still in the log.
        assert_eq!(size(), before);
        let (stop_tx, stop) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(store.clone().checkpoint(stop));
        let mut waited = Duration::ZERO;
        while size() < before + 400_000 && waited < Duration::from_secs(5) {
            tokio::time::sleep(Duration::from_millis(50)).await;
            waited += Duration::from_millis(50);
        }
        assert!(size() >= before + 400_000, "the database file did not grow");
        stop_tx.send(true).unwrap();
        task.await.unwrap();
        let _ = std::fs::remove_dir_all(dir);
    }
}
