//! A tiny dynamic SQL builder with `$N` placeholders (valid on SQLite and PostgreSQL),
//! for queries whose shape depends on filters.

use sqlx::any::AnyArguments;
use sqlx::query::QueryAs;
use sqlx::{Any, Arguments, FromRow};

#[derive(Debug, Clone)]
pub(crate) enum Bind {
    Int(i64),
    Text(String),
    OptText(Option<String>),
    OptInt(Option<i64>),
}

#[derive(Debug, Default, Clone)]
pub(crate) struct Sql {
    pub text: String,
    binds: Vec<Bind>,
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Sql { text: text.to_owned(), binds: Vec::new() }
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder bound to `value`.
    pub fn bind(&mut self, value: Bind) -> &mut Self {
        self.binds.push(value);
        self.text.push_str(&format!("${}", self.binds.len()));
        self
    }

    pub fn bind_text(&mut self, v: impl Into<String>) -> &mut Self {
        self.bind(Bind::Text(v.into()))
    }

    pub fn bind_opt_text(&mut self, v: Option<String>) -> &mut Self {
        self.bind(Bind::OptText(v))
    }

    pub fn bind_opt_int(&mut self, v: Option<i64>) -> &mut Self {
        self.bind(Bind::OptInt(v))
    }

    pub fn bind_int(&mut self, v: i64) -> &mut Self {
        self.bind(Bind::Int(v))
    }

    /// `IN ($a, $b, ...)`; an empty list becomes a condition that is always false.
    pub fn in_ints(&mut self, column: &str, values: impl IntoIterator<Item = i64>) -> &mut Self {
        let values: Vec<i64> = values.into_iter().collect();
        if values.is_empty() {
            self.push("1 = 0");
            return self;
        }
        self.push(column).push(" IN (");
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind_int(v);
        }
        self.push(")");
        self
    }

    /// Appends another fragment, renumbering its placeholders after ours.
    pub fn append(&mut self, other: &Sql) -> &mut Self {
        let offset = self.binds.len();
        let mut out = String::with_capacity(other.text.len());
        let mut chars = other.text.chars().peekable();
        while let Some(ch) = chars.next() {
            if ch == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
                let mut n = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    n.push(*d);
                    chars.next();
                }
                let idx: usize = n.parse().unwrap_or(0);
                out.push_str(&format!("${}", idx + offset));
            } else {
                out.push(ch);
            }
        }
        self.text.push_str(&out);
        self.binds.extend(other.binds.iter().cloned());
        self
    }

    pub fn query_as<'q, T>(&'q self) -> QueryAs<'q, Any, T, AnyArguments<'q>>
    where
        T: for<'r> FromRow<'r, sqlx::any::AnyRow>,
    {
        sqlx::query_as_with(&self.text, self.arguments())
    }

    /// Runs a statement that returns no rows.
    pub async fn execute(&self, c: &mut sqlx::AnyConnection) -> Result<u64, sqlx::Error> {
        Ok(sqlx::query_with(&self.text, self.arguments()).execute(c).await?.rows_affected())
    }

    fn arguments(&self) -> AnyArguments<'_> {
        let mut args = AnyArguments::default();
        for b in &self.binds {
            let added = match b {
                Bind::Int(i) => args.add(*i),
                Bind::Text(t) => args.add(t.as_str()),
                Bind::OptText(t) => args.add(t.as_deref()),
                Bind::OptInt(i) => args.add(*i),
            };
            // Integers, text and NULL always encode into the Any driver's values.
            added.expect("an integer or a text always encodes");
        }
        args
    }
}
