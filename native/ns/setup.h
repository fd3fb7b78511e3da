// The setup executor (setup.c): the ordered steps strata's TypeScript side builds, run inside the namespace.
#pragma once
/* how a step's failure ends the program (strata-ns's fail: "error KIND MESSAGE" on the status fd, exit 125) */
extern void (*setup_fail)(const char *kind, const char *fmt, ...);
/* reads the steps (to EOF) from fd; returns how many */
int setup_read(int fd);
/* runs the steps up to the "after" marker; in-root paths resolve under root; made paths are reported on statusfd */
void setup_run(const char *root, int statusfd);
/* whether there are steps for after the command, and running them */
int setup_has_after(void);
void setup_after(void);
