/* bench/spin/lease_lock_mp.pml: models/lease_lock in Promela at the explorer's granularity, for
   bench/spin/compare.sh (the faithful model; lease_lock.pml is the shared-variable abstraction).

   One proctype per node (Lock = lease-lock, Storage = lease-storage, Client = lease-client-c) and
   one d_step per handler: a step of the explorer (deliver one message, fire one timer) is one
   SPIN transition, and every process waits at the head of its `do` between steps, so a global
   state is exactly what the explorer hashes: each node's state plus the in-flight messages.
   - Network: any message in flight may be delivered next (the explorer's exploration mode; no
     drops or duplicates, no injected faults). Channels are per (sender, receiver, kind) and hold
     at most one message each, so channel FIFO order never restricts delivery; a client's
     releases (several may be in flight, and the lock may see a later acquire first) travel on
     one channel per token, carrying the sender, as the explorer's message identity does.
   - The lease timer: armed at a grant, cancelled by the holder's release, fired otherwise at any
     time (the explorer may run any pending timer next, moving the clock to its due time). It is
     pending exactly while the lock has a holder, so it is the Lock's `holder != 0` alternative.
   - Boots are not interleaved (the explorer always runs a pending start first): init starts
     every process and puts each client's first acquire in flight in one atomic step.
   - Property: storage never accepts a write whose token is older than one it accepted
     (lease_lock.stale_write); FENCING=1 makes storage reject such a write (ack with ok = 0).
   Run:  spin -a -DN=3 -DWRITES=2 -DFENCING=1 lease_lock_mp.pml && gcc -O2 -o pan pan.c && ./pan -a
   (-DNOREDUCE when compiling pan.c turns SPIN's partial-order reduction off: its state count is
   then the explorer's distinct states, give or take the boot and terminal states.) */
#ifndef N
#define N 3
#endif
#ifndef WRITES
#define WRITES 2
#endif
#ifndef FENCING
#define FENCING 0
#endif
#ifndef SERVER1_BUS
#define SERVER1_BUS 0
#endif
#define NTOK (N * WRITES)

bool stale_write = false;      /* storage accepted a write older than one it had accepted */

chan acq[N] = [1] of { bit };          /* client c -> lock: acquire */
chan grant[N] = [1] of { byte };       /* lock -> client c: grant(token) */
chan wr[N] = [1] of { byte };          /* client c -> storage: write(token) */
chan ack[N] = [1] of { byte, bit };    /* storage -> client c: ack(token, accepted) */
chan rel[NTOK + 1] = [1] of { byte };  /* client -> lock: release(token t) on rel[t], from = client */

/* SPIN's partial-order reduction needs to know which process alone sends or receives on a
   channel (xs/xr); those declarations take channel names, not array elements, so each process
   names its channels locally. */
proctype Lock() {
  byte holder = 0;     /* 0: free, else client id + 1 */
  byte issued = 0;     /* last token issued; the holder's token while held */
  byte q[N];           /* waiters in arrival order (client id + 1) */
  byte qlen = 0;
  byte from, i;
  chan a0 = acq[0]; chan g0 = grant[0]; xr a0; xs g0;
#if N > 1
  chan a1 = acq[1]; chan g1 = grant[1]; xr a1; xs g1;
#endif
#if N > 2
  chan a2 = acq[2]; chan g2 = grant[2]; xr a2; xs g2;
#endif
#if N > 3
  chan a3 = acq[3]; chan g3 = grant[3]; xr a3; xs g3;
#endif
  chan r1 = rel[1]; xr r1;
#if NTOK > 1
  chan r2 = rel[2]; xr r2;
#endif
#if NTOK > 2
  chan r3 = rel[3]; xr r3;
#endif
#if NTOK > 3
  chan r4 = rel[4]; xr r4;
#endif
#if NTOK > 4
  chan r5 = rel[5]; xr r5;
#endif
#if NTOK > 5
  chan r6 = rel[6]; xr r6;
#endif
#if NTOK > 6
  chan r7 = rel[7]; xr r7;
#endif
#if NTOK > 7
  chan r8 = rel[8]; xr r8;
#endif
/* grant_next: the first waiter gets the lock with a fresh token (and a lease timer). */
#if N > 3
#define SEND_GRANT3 :: holder == 4 -> g3!issued
#else
#define SEND_GRANT3
#endif
#if N > 2
#define SEND_GRANT2 :: holder == 3 -> g2!issued
#else
#define SEND_GRANT2
#endif
#if N > 1
#define SEND_GRANT1 :: holder == 2 -> g1!issued
#else
#define SEND_GRANT1
#endif
#define GRANT_NEXT \
  if \
  :: qlen > 0 -> \
     holder = q[0]; i = 1; \
     do :: i < qlen -> q[i - 1] = q[i]; i++ :: else -> break od; \
     qlen--; q[qlen] = 0; i = 0; \
     issued++; \
     if :: holder == 1 -> g0!issued SEND_GRANT1 SEND_GRANT2 SEND_GRANT3 fi \
  :: else -> skip \
  fi
#define ON_ACQUIRE(ch, c) \
  :: d_step { ch?_ -> q[qlen] = c + 1; qlen++; if :: holder == 0 -> GRANT_NEXT :: else -> skip fi }
/* A release names its token; one from a holder whose lease already expired is ignored. */
#define ON_RELEASE(ch, t) \
  :: d_step { ch?from -> \
       if :: holder == from && issued == t -> holder = 0; GRANT_NEXT :: else -> skip fi; from = 0 }
end:
  do
  ON_ACQUIRE(a0, 0)
#if N > 1
  ON_ACQUIRE(a1, 1)
#endif
#if N > 2
  ON_ACQUIRE(a2, 2)
#endif
#if N > 3
  ON_ACQUIRE(a3, 3)
#endif
  ON_RELEASE(r1, 1)
#if NTOK > 1
  ON_RELEASE(r2, 2)
#endif
#if NTOK > 2
  ON_RELEASE(r3, 3)
#endif
#if NTOK > 3
  ON_RELEASE(r4, 4)
#endif
#if NTOK > 4
  ON_RELEASE(r5, 5)
#endif
#if NTOK > 5
  ON_RELEASE(r6, 6)
#endif
#if NTOK > 6
  ON_RELEASE(r7, 7)
#endif
#if NTOK > 7
  ON_RELEASE(r8, 8)
#endif
  :: d_step { holder != 0 -> holder = 0; GRANT_NEXT }   /* the lease timer fires */
  od
}

proctype Storage() {
  byte accepted_max = 0;
  byte tok;
  chan w0 = wr[0]; chan k0 = ack[0]; xr w0; xs k0;
#if N > 1
  chan w1 = wr[1]; chan k1 = ack[1]; xr w1; xs k1;
#endif
#if N > 2
  chan w2 = wr[2]; chan k2 = ack[2]; xr w2; xs k2;
#endif
#if N > 3
  chan w3 = wr[3]; chan k3 = ack[3]; xr w3; xs k3;
#endif
#define ON_WRITE(w, k) \
  :: d_step { w?tok -> \
       if \
       :: tok < accepted_max && FENCING -> k!tok, 0 \
       :: tok < accepted_max && !FENCING -> stale_write = true; k!tok, 1 \
       :: else -> accepted_max = tok; k!tok, 1 \
       fi; tok = 0 }
end:
  do
  ON_WRITE(w0, k0)
#if N > 1
  ON_WRITE(w1, k1)
#endif
#if N > 2
  ON_WRITE(w2, k2)
#endif
#if N > 3
  ON_WRITE(w3, k3)
#endif
  od
}

/* me = client id (0-based); its first acquire is already in flight (sent by init). */
proctype Client(byte me; chan g, k, a, w) {
  byte done = 0;
  byte mine = 0;
  bool waiting = true;
  byte tok;
  bit ok;
  xr g; xr k; xs a; xs w;
end:
  do
  :: d_step { g?tok -> if :: waiting -> waiting = false; mine = tok; w!mine :: else -> skip fi;
                       tok = 0 }
  :: d_step { k?tok, ok ->
       if
       :: tok == mine ->
          rel[mine]!me + 1; mine = 0; done++;
          if :: done < WRITES -> waiting = true; a!1 :: else -> skip fi
       :: else -> skip
       fi;
       tok = 0; ok = 0 }
  od
}

#if SERVER1_BUS
/* The scenario format always builds server-1 (the Cattle server); in lease-lock scenarios it only
   boots, but its boot leaves one timer (its event bus, due at once) that the explorer may fire at
   any point of the search. With -DSERVER1_BUS=1 this model has it too, and SPIN's state count
   with -DNOREDUCE is then the explorer's distinct states (give or take boot/terminal states). */
proctype Server1() {
  bool bus = true;
end:
  do
  :: d_step { bus -> bus = false }
  od
}
#endif

init {
  byte c = 0;
  atomic {
#if SERVER1_BUS
    run Server1();
#endif
    run Lock();
    run Storage();
    do
    :: c < N -> acq[c]!1; run Client(c, grant[c], ack[c], acq[c], wr[c]); c++
    :: else -> break
    od
  }
}

ltl no_stale_write { [] !stale_write }
