{
  "targets": [
    {
      "target_name": "strata_sys",
      "sources": ["native/sys.c", "native/util.c", "native/verity.c", "native/object.c", "native/create.c", "native/scan.c"],
      "cflags": ["-O2", "-Wall"]
    },
    {
      "target_name": "strata-ns",
      "type": "executable",
      "sources": ["native/ns/strata-ns.c", "native/ns/setup.c"],
      "cflags": ["-O2", "-Wall"],
      "libraries": ["-ldl"]
    }
  ]
}
