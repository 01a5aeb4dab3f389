//! Random fault schedules.
