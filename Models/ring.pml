/*
 * The blkif ring's notification protocol, as BlkifRing implements it.
 *
 *   front  FrontRing.pushRequests()         publish req_prod, fence, read req_event, notify?
 *          FrontRing.takeResponses(with:)   read rsp_prod once, take every response before it
 *          FrontRing.finalCheckForResponses()  pending? else rsp_event = rsp_cons + 1, fence,
 *                                           pending again? else sleep on the event channel
 *   back   BackRing.serveRequests(with:limit:)  read req_prod once, serve up to `limit`,
 *                                           then pushResponses(): publish rsp_prod, fence,
 *                                           read rsp_event, notify?
 *          BackRing.finalCheckForRequests()  pending? else req_event = req_cons + 1, fence,
 *                                           pending again? else sleep
 *
 * The notify test is ring.h's `(new - event) < (new - old)` (SharedRing.publish). Indexes are
 * free-running modulo M (2^32 in the code) and start just below it, so every run wraps. Each
 * request takes one entry and is answered at once (the back's batch `limit` is any of
 * 1...published). An event channel is one pending bit per end: notify sets the peer's, sleeping
 * waits for one's own and clears it; the model's sleep has no timeout, so a lost wake-up is a
 * deadlock. A notification is a system call or hypercall, which drains the notifier's stores.
 *
 * Memory is TSO (x86): each end's stores to the shared indexes pass through a one-entry
 * store buffer, drained in order at any moment by `Memory`, so without a fence a load can
 * overtake the store before it. A fence drains the buffer. The entries' contents and the
 * release/acquire pairing of producer and entries are not modelled (only the indexes are).
 *
 * Proved (spin -a; pan): with SLOTS = 1...4 and REQUESTS = SLOTS + 2 (the ring filled, then two
 * slots reused; -DREQUESTS=9 with SLOTS=4 is proved too, in about 20 s), every run ends with
 * every request answered and taken (no invalid end state: never both ends asleep with work
 * left), and neither end ever sees more than was published. Broken variants, each of which
 * SPIN must refute with a trail:
 *   -DNO_FINAL_CHECK  both ends sleep right after arming their event index, without looking again
 *   -DNO_ARM_FENCE    the fence between arming the event index and re-reading the producer is gone
 *   -DNO_PUSH_FENCE   the fence between publishing a producer and reading the peer's event is gone
 */

#ifndef SLOTS
#define SLOTS 2
#endif
#ifndef REQUESTS
#define REQUESTS (SLOTS + 2)
#endif
#define M 16
#define START 13
#define NEXT(i) (((i) + 1) % M)
/* Entries from `from` to `to`, modulo M: RingIndex.distance(from:). */
#define DIST(to, from) (((to) + M - (from)) % M)

/* The shared header. */
byte req_prod = START, req_event = NEXT(START), rsp_prod = START, rsp_event = NEXT(START);

/* Event channels: a pending notification for each end. */
bool front_event = false, back_event = false;

/* One-entry store buffers: which index is buffered (NONE, or one the end writes) and its value. */
mtype = { NONE, REQ_PROD, RSP_EVENT, RSP_PROD, REQ_EVENT };
mtype front_buffered = NONE, back_buffered = NONE;
byte front_value, back_value;

inline drain_front() {
    if
    :: front_buffered == REQ_PROD -> req_prod = front_value
    :: front_buffered == RSP_EVENT -> rsp_event = front_value
    :: else -> skip
    fi;
    front_buffered = NONE
}

inline drain_back() {
    if
    :: back_buffered == RSP_PROD -> rsp_prod = back_value
    :: back_buffered == REQ_EVENT -> req_event = back_value
    :: else -> skip
    fi;
    back_buffered = NONE
}

/* A store: an older buffered store reaches memory first (TSO keeps stores in order). */
inline store_front(index, value) { atomic { drain_front(); front_buffered = index; front_value = value } }
inline store_back(index, value) { atomic { drain_back(); back_buffered = index; back_value = value } }

bool finished = false;

active proctype Front() {
    byte produced = START, published = START, consumed = START, seen, event, old;
    byte issued = 0, taken = 0;
    do
    :: /* Issue what fits, then pushRequests(). */
       if
       :: issued < REQUESTS && DIST(produced, consumed) < SLOTS ->
          do
          :: issued < REQUESTS && DIST(produced, consumed) < SLOTS -> produced = NEXT(produced); issued++
          :: break
          od;
          old = published;
          published = produced;
          store_front(REQ_PROD, published);
#ifndef NO_PUSH_FENCE
          atomic { drain_front() };
#endif
          event = req_event;
          if
          :: DIST(published, event) < DIST(published, old) -> atomic { drain_front(); back_event = true };
             printf("front: pushed req_prod %d, req_event %d: notify\n", published, event)
          :: else -> printf("front: pushed req_prod %d, req_event %d: no notification\n", published, event)
          fi
       :: else -> skip
       fi;
       /* takeResponses(with:): rsp_prod read once; a backend cannot answer unissued requests. */
       seen = rsp_prod;
       assert(DIST(seen, consumed) <= DIST(produced, consumed));
       do
       :: consumed != seen -> consumed = NEXT(consumed); taken++
       :: else -> break
       od;
       if
       :: taken == REQUESTS -> break
       :: issued < REQUESTS && DIST(produced, consumed) < SLOTS -> skip  /* more to issue */
       :: else ->
          /* finalCheckForResponses(), then sleep. */
          if
          :: rsp_prod != consumed -> skip
          :: else ->
             store_front(RSP_EVENT, NEXT(consumed));
#ifndef NO_ARM_FENCE
             atomic { drain_front() };
#endif
#ifndef NO_FINAL_CHECK
             if
             :: rsp_prod != consumed -> skip
             :: else -> printf("front: armed rsp_event %d, asleep\n", NEXT(consumed));
                atomic { front_event -> front_event = false }
             fi
#else
             printf("front: armed rsp_event %d, asleep without looking again\n", NEXT(consumed));
             atomic { front_event -> front_event = false }
#endif
          fi
       fi
    od;
    assert(taken == REQUESTS && issued == REQUESTS);
    finished = true
}

active proctype Back() {
    byte consumed = START, produced = START, published = START, seen, event, old;
    do
    :: /* serveRequests(with:limit:): req_prod read once, at most `limit` served, then pushed. */
       seen = req_prod;
       assert(DIST(seen, produced) <= SLOTS);
       if
       :: consumed != seen ->
          do
          :: consumed != seen -> consumed = NEXT(consumed); produced = NEXT(produced)
          :: consumed != seen -> consumed = NEXT(consumed); produced = NEXT(produced); break  /* limit reached */
          :: consumed == seen -> break
          od;
          old = published;
          published = produced;
          store_back(RSP_PROD, published);
#ifndef NO_PUSH_FENCE
          atomic { drain_back() };
#endif
          event = rsp_event;
          if
          :: DIST(published, event) < DIST(published, old) -> atomic { drain_back(); front_event = true };
             printf("back: pushed rsp_prod %d, rsp_event %d: notify\n", published, event)
          :: else -> printf("back: pushed rsp_prod %d, rsp_event %d: no notification\n", published, event)
          fi
       :: else ->
          /* finalCheckForRequests(), then sleep: the end of a run finds the back here. */
          store_back(REQ_EVENT, NEXT(consumed));
#ifndef NO_ARM_FENCE
          atomic { drain_back() };
#endif
#ifndef NO_FINAL_CHECK
          if
          :: req_prod != consumed -> skip
          :: else -> printf("back: armed req_event %d, saw req_prod %d, asleep\n", NEXT(consumed), consumed);
             end_sleeping: atomic { back_event -> back_event = false }
          fi
#else
          printf("back: armed req_event %d, asleep without looking again\n", NEXT(consumed));
          end_sleeping_unchecked: atomic { back_event -> back_event = false }
#endif
       fi
    od
}

/* Drains a buffered store at any moment. */
active proctype Memory() {
    end_idle:
    do
    :: atomic { front_buffered != NONE -> drain_front() }
    :: atomic { back_buffered != NONE -> drain_back() }
    od
}
