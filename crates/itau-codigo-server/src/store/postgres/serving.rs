//! Serving from PostgreSQL: lookups through a few connections, each shared by the
//! lookups that take it ([`Lanes`]), with statements prepared once per connection.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use itau_codigo::ConsultaClienteRequest;
use tokio_postgres::{Client, Statement};

use super::migrating::schema_version;
use super::target::Target;
use super::{LAST_IMPORT, QUERY_TIMEOUT, on_own_runtime};
use crate::store::{
    DbLocation, LastImport, PoolStatus, Store, StoreError, StoreFuture, key, migrations,
    render_answer,
};

/// How many connections a lookup tries when the ones it gets turn out lost. The second
/// and third are made on its lane after the loss was seen, so only a database that
/// ends connections as fast as they are made fails a lookup.
const READ_ATTEMPTS: u32 = 3;

/// Whether `error` says that the connection was lost rather than that the query
/// failed: closed, or ended by the server (a shutdown, `pg_terminate_backend`).
fn connection_lost(error: &StoreError) -> bool {
    use tokio_postgres::error::SqlState;
    match error {
        StoreError::Postgres(error) => {
            error.is_closed()
                || error.code().is_some_and(|code| {
                    [
                        SqlState::ADMIN_SHUTDOWN,
                        SqlState::CRASH_SHUTDOWN,
                        SqlState::CANNOT_CONNECT_NOW,
                    ]
                    .contains(code)
                })
        }
        _ => false,
    }
}

/// A lookup.
const FIND: &str = "SELECT resposta FROM clientes WHERE codigo_conta = $1";
/// A readiness check: reads the table, so a dropped one fails it.
const PING: &str = "SELECT 1 FROM clientes LIMIT 1";
/// A standby's replay lag in seconds: 0 when it has replayed everything it received (a
/// quiet primary sends nothing new, and the time since the last replayed commit would
/// then read as lag), else the time since the last replayed commit; NULL on a primary,
/// and on a standby that has replayed no commit yet.
const REPLAY_LAG: &str = "SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN NULL
    WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0::float8
    ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8
END";
/// Whether the record of imports exists (not in a database of schema 2).
const IMPORTS_RECORDED: &str = "SELECT to_regclass('itau_codigo_imports') IS NOT NULL";

/// A PostgreSQL store read through lanes: a few connections, each shared by the lookups that take it.
pub struct PostgresStore {
    lanes: Lanes,
    location: String,
}

/// The connections `serve` reads through: a fixed number of lanes, each one connection
/// that every lookup taking it shares, in turn. tokio-postgres pipelines the queries of
/// one client, so lookups in flight together go to the server in one write and their
/// answers come back in one read; a pool lending each connection to one lookup at a
/// time pays the socket's system calls, and the wake-ups between the lookup and the
/// connection's task, once per lookup. A lane whose connection was lost connects again
/// on its next lookup (one lookup connects, the others wait for it), with the password
/// the passfile holds then.
struct Lanes {
    lanes: Box<[Lane]>,
    /// Where the next lookup goes (round robin).
    next: AtomicUsize,
    target: Target,
    /// Lookups waiting for a lane to connect.
    waiting: AtomicUsize,
}

#[derive(Default)]
struct Lane {
    connection: std::sync::Mutex<Option<Arc<LaneConnection>>>,
    /// Held while connecting.
    connecting: tokio::sync::Mutex<()>,
    /// Queries sent on this lane and not yet answered.
    in_flight: AtomicUsize,
}

/// One connection and its statements, each prepared by the first query that needs it
/// (a statement that cannot be prepared, say on a dropped table, fails that query and
/// is tried again by the next, without losing the connection).
struct LaneConnection {
    client: Client,
    find: tokio::sync::OnceCell<Statement>,
    ping: tokio::sync::OnceCell<Statement>,
    replay_lag: tokio::sync::OnceCell<Statement>,
}

impl LaneConnection {
    async fn statement(
        &self,
        cell: &tokio::sync::OnceCell<Statement>,
        query: &str,
    ) -> Result<Statement, StoreError> {
        Ok(cell
            .get_or_try_init(|| self.client.prepare(query))
            .await?
            .clone())
    }
}

/// A lane's connection lent to one query; counts the query in flight.
struct Lent<'a> {
    lane: &'a Lane,
    connection: Arc<LaneConnection>,
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        self.lane.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Lent<'_> {
    /// `result`, after dropping the connection from its lane if it says it was lost.
    fn after<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        if result.as_ref().is_err_and(connection_lost) {
            self.lost();
        }
        result
    }

    /// After a query found the connection lost: the lane connects again on its next
    /// query (unless another query already did).
    fn lost(&self) {
        let mut current = self
            .lane
            .connection
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if current
            .as_ref()
            .is_some_and(|c| Arc::ptr_eq(c, &self.connection))
        {
            *current = None;
        }
    }
}

impl Lane {
    /// The lane's connection, unless it has none or it is closed.
    fn open_connection(&self) -> Option<Arc<LaneConnection>> {
        self.connection
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .filter(|connection| !connection.client.is_closed())
            .map(Arc::clone)
    }
}

/// Counts a lookup waiting for a lane to connect while it lives.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Lanes {
    fn new(target: Target, lanes: u32) -> Self {
        Self {
            lanes: (0..lanes.max(1)).map(|_| Lane::default()).collect(),
            next: AtomicUsize::new(0),
            target,
            waiting: AtomicUsize::new(0),
        }
    }

    /// The next lane's connection, connecting it if needed.
    async fn take(&self) -> Result<Lent<'_>, StoreError> {
        let lane = &self.lanes[self.next.fetch_add(1, Ordering::Relaxed) % self.lanes.len()];
        self.take_lane(lane).await
    }

    /// `lane`'s connection, connecting it if needed. A lookup whose connection was lost
    /// tries again here, on the same lane, rather than on the next one: when the server
    /// ended every connection at once (a restart, `pg_terminate_backend` after a password
    /// rotation), the next lanes' connections are as dead as the first, while this lane's
    /// next one is made after the loss.
    async fn take_lane<'a>(&'a self, lane: &'a Lane) -> Result<Lent<'a>, StoreError> {
        let connection = match lane.open_connection() {
            Some(connection) => connection,
            None => {
                self.waiting.fetch_add(1, Ordering::Relaxed);
                let _waiting = Waiting(&self.waiting);
                let _turn = lane.connecting.lock().await;
                match lane.open_connection() {
                    Some(connection) => connection,
                    None => {
                        let connection = Arc::new(self.connect().await?);
                        *lane
                            .connection
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner) =
                            Some(Arc::clone(&connection));
                        connection
                    }
                }
            }
        };
        lane.in_flight.fetch_add(1, Ordering::Relaxed);
        Ok(Lent { lane, connection })
    }

    async fn connect(&self) -> Result<LaneConnection, StoreError> {
        // Said here: the lookup that fails only says that it did.
        let config = self.target.config_now().inspect_err(|error| {
            tracing::error!(error = %error, "cannot read the database password");
        })?;
        Ok(LaneConnection {
            client: self.target.connect_with(&config).await?,
            find: tokio::sync::OnceCell::new(),
            ping: tokio::sync::OnceCell::new(),
            replay_lag: tokio::sync::OnceCell::new(),
        })
    }

    fn status(&self) -> PoolStatus {
        let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        PoolStatus {
            max_size: count(self.lanes.len()),
            size: count(
                self.lanes
                    .iter()
                    .filter(|lane| lane.open_connection().is_some())
                    .count(),
            ),
            in_use: count(
                self.lanes
                    .iter()
                    .filter(|lane| lane.in_flight.load(Ordering::Relaxed) > 0)
                    .count(),
            ),
            // As a pool lending each connection to one query would have them wait:
            // the queries queued behind another on their connection, and those waiting
            // for one to connect.
            waiting: count(
                self.lanes
                    .iter()
                    .map(|lane| lane.in_flight.load(Ordering::Relaxed).saturating_sub(1))
                    .sum::<usize>()
                    + self.waiting.load(Ordering::Relaxed),
            ),
        }
    }
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to `url`, checks the schema version (serving never migrates: that is
    /// `import`'s and `migrate`'s job) and makes a pool of up to `pool_size`
    /// connections, opened as needed: a replica started while the database is down
    /// refuses to start, one that loses it answers 500 (and `/readyz` 503) until it is
    /// back.
    ///
    /// Callable from inside an async runtime: the start-up work runs on a thread of its own.
    ///
    /// # Errors
    ///
    /// A bad URL or CA file, no connection, or a database whose schema is older (the
    /// error names the command that upgrades it) or newer than this binary's.
    pub fn open(url: &str, pool_size: u32) -> Result<Self, StoreError> {
        let target = Target::parse(url)?;
        let connector = target.clone();
        let location = target.location.clone();
        on_own_runtime(|runtime| {
            runtime.block_on(async {
                let client = target.connect().await?;
                schema_version(&client)
                    .await
                    .and_then(|found| {
                        migrations::check_served(found, &DbLocation::Postgres(url.to_owned()))
                    })
                    .map_err(|e| target.open_error(e))
            })
        })?;
        Ok(Self {
            lanes: Lanes::new(connector, pool_size),
            location: format!("{location} (pool of {pool_size})"),
        })
    }

    /// A lookup, tried again on a new connection of its lane when the one it got was
    /// lost (a server restart, `pg_terminate_backend` after a password rotation): a
    /// lookup is a read, and a lane replaces its lost connection.
    async fn answer_now(
        &self,
        consulta: &ConsultaClienteRequest,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let mut attempt = 1;
        let mut lent = self.lanes.take().await?;
        loop {
            match Self::answer_once(&lent, consulta).await {
                Err(error) if connection_lost(&error) => {
                    lent.lost();
                    if attempt == READ_ATTEMPTS {
                        return Err(error);
                    }
                    tracing::debug!(%error, attempt, "store connection lost; the lookup is tried again");
                    attempt += 1;
                    let lane = lent.lane;
                    drop(lent);
                    lent = self.lanes.take_lane(lane).await?;
                }
                result => return result,
            }
        }
    }

    async fn answer_once(
        lent: &Lent<'_>,
        consulta: &ConsultaClienteRequest,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let connection = &lent.connection;
        let statement = connection.statement(&connection.find, FIND).await?;
        let row = connection
            .client
            .query_opt(&statement, &[&key(&consulta.codigo_conta())])
            .await?;
        row.map(|row| {
            let record: &[u8] = row.try_get(0)?;
            render_answer(record, consulta)
                .map_err(|_| StoreError::bad_record(&consulta.codigo_conta()))
        })
        .transpose()
    }

    async fn replay_lag_now(&self) -> Result<Option<f64>, StoreError> {
        let lent = self.lanes.take().await?;
        let connection = &lent.connection;
        let result = async {
            let statement = connection
                .statement(&connection.replay_lag, REPLAY_LAG)
                .await?;
            Ok(connection.client.query_one(&statement, &[]).await?.get(0))
        }
        .await;
        lent.after(result)
    }

    async fn ping_now(&self) -> Result<(), StoreError> {
        let lent = self.lanes.take().await?;
        let connection = &lent.connection;
        let result = async {
            // Reads the table, so a dropped table fails readiness too.
            let statement = connection.statement(&connection.ping, PING).await?;
            connection.client.query(&statement, &[]).await?;
            Ok(())
        }
        .await;
        lent.after(result)
    }

    async fn last_import_now(&self) -> Result<Option<LastImport>, StoreError> {
        let lent = self.lanes.take().await?;
        let result = Self::last_import_on(&lent.connection.client).await;
        lent.after(result)
    }

    /// Unprepared: asked once per scrape, and `LAST_IMPORT` cannot be prepared on a
    /// database of schema 2.
    async fn last_import_on(client: &Client) -> Result<Option<LastImport>, StoreError> {
        let recorded: bool = client.query_one(IMPORTS_RECORDED, &[]).await?.try_get(0)?;
        if !recorded {
            return Ok(None);
        }
        let row = client.query_opt(LAST_IMPORT, &[]).await?;
        row.map(|row| {
            let accounts: i64 = row.try_get(1)?;
            Ok(LastImport {
                committed_at: row.try_get(0)?,
                accounts: u64::try_from(accounts).unwrap_or(0),
            })
        })
        .transpose()
    }
}

impl Store for PostgresStore {
    fn answer<'a>(
        &'a self,
        consulta: &'a ConsultaClienteRequest,
    ) -> StoreFuture<'a, Option<Vec<u8>>> {
        Box::pin(within_timeout("lookup", self.answer_now(consulta)))
    }

    fn ping(&self) -> StoreFuture<'_, ()> {
        Box::pin(within_timeout("readiness check", self.ping_now()))
    }

    fn replay_lag(&self) -> StoreFuture<'_, Option<f64>> {
        Box::pin(within_timeout("replay lag", self.replay_lag_now()))
    }

    fn describe(&self) -> String {
        self.location.clone()
    }

    fn pool_status(&self) -> Option<PoolStatus> {
        Some(self.lanes.status())
    }

    fn last_import(&self) -> StoreFuture<'_, Option<LastImport>> {
        Box::pin(within_timeout("import record", self.last_import_now()))
    }
}

async fn within_timeout<T>(
    what: &'static str,
    work: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    tokio::time::timeout(QUERY_TIMEOUT, work)
        .await
        .map_err(|_| StoreError::Timeout {
            what,
            after: QUERY_TIMEOUT,
        })?
}
