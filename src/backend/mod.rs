//! How changes reach the servers: TSIG-signed RFC 2136 UPDATEs to the primary
//! ([`update`]), catalog zone membership ([`catalog`]), and the primary's rendered zone
//! configuration driven by one `rndc reconfig` for any number of new zones ([`bind`]); the
//! traits the executor reaches them through ([`seam`]).

pub mod bind;
pub mod catalog;
pub mod seam;
pub mod tsig;
pub mod update;
