/* bench/spin/lease_lock.pml: the project's peer reference for the lease lock of models/lease_lock,
   the shared-variable model in Promela, run by bench/spin/compare.sh. This is the peer model as
   it was handed to the project (same protocol, same bounds, same property), kept here so that
   every pointer to it stays inside the repository; the stampede model is message-passing
   (acquire, grant, write, ack, release are messages, the lease is a timer), this one uses shared
   variables and atomic steps, so the verdicts must agree while the state counts differ.
   The peer's own description: a lease-based lock with optional fencing tokens, the known hazard
   of a lock holder that is paused past its lease and then writes. The same protocol at the same
   bounds must get the same verdict from stampede's explorer.
   N clients each make WRITES writes. A client takes the free lock and gets a new token; while it
   holds the lock it may be paused, and its lease may expire (the lock becomes free again); it then
   writes to storage with its token and releases the lock if it still holds it.
   Violation: storage accepts a write whose token is older than one it already accepted.
   With FENCING=1 storage rejects such writes, and no violation is reachable.
   Run:  spin -a -DN=3 -DWRITES=2 -DFENCING=0 lease_lock.pml && cc -O2 -o pan pan.c && ./pan -a */
#ifndef N
#define N 3
#endif
#ifndef WRITES
#define WRITES 2
#endif
#ifndef FENCING
#define FENCING 0
#endif

byte holder = 0;          /* 0: free; otherwise the holder's id */
byte issued = 0;          /* last token issued by the lock service */
byte accepted_max = 0;    /* highest token storage has accepted */
bool stale_write = false; /* storage accepted a write older than one it had accepted */

active [N] proctype client() {
  byte me = _pid + 1;
  byte mine;
  byte done = 0;
  do
  :: done < WRITES ->
     atomic { holder == 0 -> holder = me; issued++; mine = issued };
     if
     :: skip                                    /* no pause, or a short one */
     :: atomic { holder == me -> holder = 0 }   /* paused past the lease: it expires */
     fi;
     atomic {
       if
       :: FENCING && mine < accepted_max -> skip          /* fenced off */
       :: else ->
          if
          :: mine < accepted_max -> stale_write = true
          :: else -> accepted_max = mine
          fi
       fi
     };
     atomic { if :: holder == me -> holder = 0 :: else -> skip fi };
     done++
  :: else -> break
  od
}

ltl no_stale_write { [] !stale_write }
