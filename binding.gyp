{
  "targets": [
    {
      "target_name": "strata_sys",
      "sources": ["native/sys.c"],
      "cflags": ["-O2", "-Wall"]
    }
  ]
}
