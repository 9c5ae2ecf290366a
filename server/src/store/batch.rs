//! Statements that run one after another as one piece of work, sent to the database at once.
//!
//! sqlx runs each SQLite connection on a thread of its own and hands it every statement over a
//! channel: each statement is two thread switches, and inside a write transaction the writers'
//! turn is held across all of them. So on SQLite a batch is one call: its statements joined into
//! one script, each statement's `$n` moved past the parameters of the ones before it (sqlx binds
//! `$n` by number across a script's statements), run by the connection's thread in one go.
//! PostgreSQL's extended protocol takes one statement a message, so there they run in turn;
//! the text of each statement is the same on both backends.

use sqlx::any::AnyRow;

use super::Conn;

/// A parameter of a batched statement: the portable types the store uses.
#[derive(Debug, Clone)]
pub enum Value {
    Int(Option<i64>),
    Text(Option<String>),
}

/// The types a statement binds, each as the variant it stands for.
macro_rules! value_from {
    ($($t:ty => |$v:ident| $value:expr,)*) => {$(
        impl From<$t> for Value {
            fn from($v: $t) -> Self {
                $value
            }
        }
    )*};
}

value_from! {
    i64 => |v| Value::Int(Some(v)),
    Option<i64> => |v| Value::Int(v),
    &str => |v| Value::Text(Some(v.to_string())),
    Option<&str> => |v| Value::Text(v.map(str::to_string)),
    String => |v| Value::Text(Some(v)),
    Option<String> => |v| Value::Text(v),
}

/// Statements, each with its own `$1..` parameters, run in the order they were pushed.
#[derive(Debug, Default)]
pub struct Batch {
    /// The statements and their parameters, in order (read by the SQLite writer, store/writer.rs).
    pub(super) statements: Vec<(Sql, Vec<Value>)>,
}

/// A statement's text: written in the store, or built there for a list of `n` values.
pub type Sql = std::borrow::Cow<'static, str>;

impl Batch {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a statement whose `$1, $2, …` are `args`, in order.
    pub fn push(&mut self, sql: impl Into<Sql>, args: Vec<Value>) -> &mut Self {
        self.statements.push((sql.into(), args));
        self
    }

    /// Adds `other`'s statements after these.
    pub fn extend(&mut self, other: Batch) -> &mut Self {
        self.statements.extend(other.statements);
        self
    }

    /// Runs every statement; returns the rows they produced, in the statements' order. A
    /// statement that fails stops the batch with the ones before it done: a batch of more than
    /// one statement runs inside a transaction, which the error then rolls back.
    pub async fn run(self, c: &mut Conn) -> Result<Vec<AnyRow>, sqlx::Error> {
        if c.backend_name() == "PostgreSQL" || self.statements.len() <= 1 {
            let mut rows = Vec::new();
            for (sql, args) in self.statements {
                rows.extend(bind(sqlx::query(&sql), args).fetch_all(&mut *c).await?);
            }
            return Ok(rows);
        }
        let mut script = String::new();
        let mut all = Vec::new();
        for (sql, args) in self.statements {
            script.push_str(&shifted(&sql, all.len()));
            script.push_str(";\n");
            all.extend(args);
        }
        bind(sqlx::query(&script), all).fetch_all(&mut *c).await
    }
}

pub(super) type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

fn bind(mut q: AnyQuery<'_>, args: Vec<Value>) -> AnyQuery<'_> {
    for v in args {
        q = match v {
            Value::Int(v) => q.bind(v),
            Value::Text(v) => q.bind(v),
        };
    }
    q
}

/// `sql` with every `$n` made `$(n + by)`. The store's statements hold no `$` in a string literal
/// or a name, so every `$` followed by digits is a parameter.
fn shifted(sql: &str, by: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        match rest[..digits].parse::<usize>() {
            Ok(n) => out.push_str(&(n + by).to_string()),
            Err(_) => out.push_str(&rest[..digits]),
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_move_past_the_ones_before() {
        assert_eq!(
            shifted("UPDATE t SET a = $1 WHERE b = $2 AND c > $1", 3),
            "UPDATE t SET a = $4 WHERE b = $5 AND c > $4"
        );
        assert_eq!(shifted("SELECT $10, $9", 1), "SELECT $11, $10");
        assert_eq!(shifted("SELECT 1", 5), "SELECT 1");
        assert_eq!(shifted("SELECT $1", 0), "SELECT $1");
    }
}
