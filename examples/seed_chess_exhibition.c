/* SPDX-License-Identifier: MIT */
/*
 * seed_chess_exhibition - seeds 002e/004: Judit Polgár's simultaneous
 * exhibition, smaller (4 boards, 1 s for her move, 2 s for the opponent's,
 * 2 pair-moves).  Synchronous: she waits at each table (24 s).  Async: she
 * moves (blocking: only one of her) and walks on while the opponent thinks
 * (10 s).
 */
#include "seed_util.h"

enum { BOARDS = 4, JUDIT = 1, OPPONENT = 2, PAIR_MOVES = 2 };
static int judit_moves;

static void judit_moves_on(int board)
{
    (void)board;
    judit_moves++;
    seed_block(JUDIT); /* Judit thinks: nobody else can use her meanwhile */
}

static void sync_game(int board)
{
    for (int i = 0; i < PAIR_MOVES; i++) {
        judit_moves_on(board);
        seed_block(OPPONENT); /* Judit stands at the table and waits */
    }
    printf("board %d: game over\n", board);
}

static void *async_game(void *arg)
{
    int board = IVAL(arg);
    for (int i = 0; i < PAIR_MOVES; i++) {
        judit_moves_on(board);
        int rc = seed_sleep(OPPONENT); /* Judit walks on to the next table */
        if (rc < 0)
            return cor_fail(rc, "sleep");
    }
    printf("board %d: game over\n", board);
    return NULL;
}

static void *async_exhibition(void *arg)
{
    int64_t *elapsed = arg, start = cor_now_ns();
    void *boards[BOARDS];
    for (int b = 0; b < BOARDS; b++)
        boards[b] = IARG(b);
    int rc = seed_gather(async_game, boards, BOARDS, NULL);
    *elapsed = cor_now_ns() - start;
    return rc < 0 ? cor_fail(rc, "gather") : NULL;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("seed numbers: synchronous 24 * 30 * (5 + 55) = %d s = %d h; "
           "asynchronous 24 * 5 * 30 = %d s = %d h\n",
           24 * 30 * 60, 24 * 30 * 60 / 3600, 24 * 5 * 30, 24 * 5 * 30 / 3600);
    printf("--- synchronous: one game at a time\n");
    int64_t start = cor_now_ns();
    for (int b = 0; b < BOARDS; b++)
        sync_game(b);
    printf("synchronous exhibition: %d Judit moves, %s s\n", judit_moves,
           SECS(cor_now_ns() - start, 2));
    printf("--- asynchronous: one move at each table in turn\n");
    judit_moves = 0;
    int64_t elapsed = 0;
    if (seed_run("seed_chess_exhibition", async_exhibition, &elapsed) < 0)
        return 1;
    printf("asynchronous exhibition: %d Judit moves, %s s\n", judit_moves,
           SECS(elapsed, 2));
    return 0;
}
