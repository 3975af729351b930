extension ISO8601 {
    /// Whole Unix seconds (from 1970 on) as ISO 8601 UTC: "2026-12-04T21:03:07Z".
    public static func format(unixSeconds: Int64) -> String {
        // The microsecond form ends in ".000000Z" for whole seconds.
        String(format(nanosecondsSinceEpoch: UInt64(max(0, unixSeconds)) * 1_000_000_000).dropLast(8)) + "Z"
    }
}
