/*
 * The XenBus state machine of a blkif device, both ends, as XenBus implements it.
 *
 * Each end runs its driver's loop (BackendDriver.advance, FrontendDriver.advance): read the
 * peer's `state` node, ask the transition function what to do, do it, and block until a watch
 * fires (a change of the peer's state or of a local input). The transition functions are not
 * transcribed: xenbus_transitions.pml is generated from BackendTransitions.next and
 * FrontendTransitions.next by evaluating them on every input (ModelCheckTests checks the
 * committed copy against the code). A step reads the peer, then acts on what it read, while the
 * peer may already have moved on; the effects are the drivers':
 *   backend   publishOffer → InitWait; connect → Connected, or (a rejected transport) Closing
 *             with `rejecting` set; beginClose → Closing; finishClose, abandon → Closed
 *   frontend  publishTransport → Initialised, or (a malformed offer) Closing with a close
 *             requested; connect → Connected, or likewise Closing; beginClose → Closing;
 *             deferClose waits for the last user; finishClose, abandon → Closed
 * Around them, the world (each event at most once, in any order, or never):
 *   a user opens the disk and, always, later leaves (closes are deferred meanwhile); the toolstack
 *   detaches the device (the backend's close request; once the backend is Closed the toolstack
 *   removes its directory, as it must); the guest unplugs it (the frontend's close request); the
 *   frontend's owner reconnects it from Closed (FrontendDriver.reconnect); the guest dies (its
 *   device directory vanishes, or its state node is left holding garbage), and a new guest
 *   takes the device over from Initialising. At most one transport or offer is rejected.
 *
 * Proved (spin -a; pan): whenever nothing can move any more, every end still running is
 * Connected or Closed, both agree when both run, and an end whose peer is gone is Closed:
 * never stuck half-way. Broken variants SPIN must refute:
 *   -DNO_RECONNECT        a Closed backend ignores a frontend back at Initialising
 *   -DNO_CLOSE_ON_VANISH  a backend ignores its frontend's vanished directory
 * Abstracted away: the node contents (negotiation is the fuzz target xenbus-nodes' and the
 * XenBus tests'), the 8-step cap of one advance() (every sequence here is shorter), XenStore
 * transactions and watch coalescing (a watch fires after every change; reading then acting
 * covers a coalesced one), timeouts, and multiple queues.
 */

#include "xenbus_transitions.pml"

#define MAX_FAILURES 1

byte back_state = INITIALISING, front_state = INITIALISING;
bool back_present = true, front_present = true;    /* the `state` node exists */
bool front_garbage = false;                        /* the frontend's node holds garbage */
bool back_alive = true, front_alive = true;        /* the end's driver runs */
bool back_close = false, back_rejecting = false;   /* BackendDriver: closeRequested, rejecting */
bool front_close = false, front_users = false;     /* FrontendDriver: closeRequested, users > 0 */
byte failures = 0;

#define FRONT_SEEN (front_present -> (front_garbage -> GARBAGE : front_state) : VANISHED)
#define BACK_SEEN (back_present -> back_state : VANISHED)
#define BACK_STEP backend_table[BACKEND_INDEX(back_state, FRONT_SEEN, (back_close || back_rejecting))]
#define FRONT_STEP frontend_table[FRONTEND_INDEX(front_state, BACK_SEEN, front_close, front_users)]

proctype Backend() {
    byte step;
end_waiting:
    do
    :: atomic { back_alive && BACK_STEP != BACKEND_WAIT -> step = BACK_STEP }
       atomic {
           if
           :: !back_alive -> skip
           :: else ->
              if
              :: step == BACKEND_PUBLISH_OFFER -> back_state = INITWAIT
              :: step == BACKEND_CONNECT ->
                 if
                 :: back_state = CONNECTED
                 :: failures < MAX_FAILURES -> failures++; back_rejecting = true; back_state = CLOSING
                 fi
              :: step == BACKEND_BEGIN_CLOSE -> back_state = CLOSING
              :: step == BACKEND_FINISH_CLOSE || step == BACKEND_ABANDON -> back_rejecting = false; back_state = CLOSED
              fi;
              printf("backend: step %d -> state %d\n", step, back_state)
           fi
       }
    od
}

proctype Frontend() {
    byte step;
end_waiting:
    do
    :: atomic { front_alive && FRONT_STEP != FRONTEND_WAIT && FRONT_STEP != FRONTEND_DEFER_CLOSE -> step = FRONT_STEP }
       atomic {
           if
           :: !front_alive -> skip
           :: else ->
              if
              :: step == FRONTEND_PUBLISH_TRANSPORT || step == FRONTEND_CONNECT ->
                 if
                 :: front_state = (step == FRONTEND_CONNECT -> CONNECTED : INITIALISED)
                 :: failures < MAX_FAILURES -> failures++; front_close = true; front_state = CLOSING
                 fi
              :: step == FRONTEND_BEGIN_CLOSE -> front_state = CLOSING
              :: step == FRONTEND_FINISH_CLOSE || step == FRONTEND_ABANDON -> front_state = CLOSED
              fi;
              printf("frontend: step %d -> state %d\n", step, front_state)
           fi
       }
    od
}

/* The toolstack's duty after a detach: remove the Closed backend's directory. */
proctype Toolstack() {
end_watching:
    do
    :: atomic { back_close && back_alive && back_state == CLOSED -> back_alive = false; back_present = false;
                printf("toolstack: backend removed\n") }
    od
}

/* Users, the toolstack's detach, the guest: each event at most once, or never. */
proctype World() {
    bool used = false, detached = false, unplugged = false, died = false, reconnected = false, replaced = false;
end_idle:
    do
    :: !used && front_alive -> used = true; front_users = true; printf("world: a user opens the disk\n")
    :: front_users -> front_users = false; printf("world: the user leaves\n")
    :: !detached -> detached = true; back_close = true; printf("world: toolstack detaches the device\n")
    :: !unplugged && front_alive -> unplugged = true; front_close = true; printf("world: the guest unplugs the disk\n")
    :: atomic { !reconnected && front_alive && front_state == CLOSED ->
                reconnected = true; front_close = false; front_state = INITIALISING; printf("world: the frontend reconnects\n") }
    :: atomic { !died && front_alive -> died = true; front_alive = false; front_users = false;
                if
                :: front_present = false; printf("world: the guest dies, its directory vanishes\n")
                :: front_garbage = true; printf("world: the guest dies, its state node holds garbage\n")
                fi }
    :: atomic { died && !replaced && !front_alive -> replaced = true; front_alive = true; front_present = true;
                front_garbage = false; front_close = false; front_state = INITIALISING; printf("world: a new guest takes the device\n") }
    :: !front_users -> break    /* a user always leaves in the end */
    od
}

/* When nothing can move any more: no end is stuck half-way. */
proctype Rest() {
    timeout ->
    printf("at rest: backend %d (running %d), frontend %d (running %d)\n", back_state, back_alive, front_state, front_alive);
    assert(!back_alive || back_state == CONNECTED || back_state == CLOSED);
    assert(!front_alive || front_state == CONNECTED || front_state == CLOSED);
    assert(!(back_alive && front_alive) || back_state == front_state);
    assert(!back_alive || front_alive || back_state == CLOSED);
    assert(!front_alive || back_alive || front_state == CLOSED)
}

init {
    fill_tables();
#ifdef NO_RECONNECT
    backend_table[BACKEND_INDEX(CLOSED, INITIALISING, 0)] = BACKEND_WAIT;
#endif
#ifdef NO_CLOSE_ON_VANISH
    byte own = 0;
    do
    :: own < STATES -> backend_table[BACKEND_INDEX(own, VANISHED, 0)] = BACKEND_WAIT;
       backend_table[BACKEND_INDEX(own, VANISHED, 1)] = BACKEND_WAIT; own++
    :: else -> break
    od;
#endif
    atomic { run Backend(); run Frontend(); run Toolstack(); run World(); run Rest() }
}
