package sdk

// BuildNumber is this SDK's build within API level 1.4.0 (0–999).
const BuildNumber = 0

// Version is what GetSdkVersion returns. SPEC.md §3 encodes a.b.c.d as
// 1 aa bb cc ddd (the seed's 1010104019 is 1.1.4.19); this SDK implements
// API level 1.4.0, so it is 1010400000 plus the build number.
const Version = 1010400000 + BuildNumber
