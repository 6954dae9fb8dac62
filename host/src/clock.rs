//! The wall clock, read in one place: now in Unix seconds, and today as a
//! Europe/Paris day (the site's, the tariffs' and the household's day).
//!
//! Parts that decide by the date (the service's windows, the registry's
//! timestamps, the simulated site's cookies) ask here. Parts that tests
//! must pin take the time as a parameter or through their own seam (the
//! scheduler's `Clock`, the API's `ServiceView::now_utc`), whose default
//! reads this one. It must never keep state or sleep: waiting belongs to
//! the scheduler's `Clock`, on tokio time.

use hellowatt_snapshot::Date;
use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in Unix seconds (negative before 1970, never a panic).
pub fn now_utc() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

/// Today in Europe/Paris.
pub fn today() -> Date {
    Date::paris_day_of(now_utc())
}
