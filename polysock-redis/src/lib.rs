//! polysock-redis: a Redis adapter for polysock (being built).
