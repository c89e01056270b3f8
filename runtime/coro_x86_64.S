/* Context switch for x86-64 (System V ABI).
 *
 * Only callee-saved state is kept: rbx, rbp, r12-r15 and rsp. Everything
 * else is caller-saved, so the C caller of the switch has already spilled
 * what it needs. See coro.h for why MXCSR/x87 control words are not saved.
 */
#if defined(__x86_64__) && !defined(CIO_CORO_UCONTEXT)

	.text

/* void cio__coro_switch_asm(void **save_sp, void *load_sp)
 * Push the callee-saved registers on the current stack, store rsp in
 * *save_sp, load load_sp and pop the other context's registers, then jump
 * to the address the other context's call left on its stack.
 *
 * That last step is a pop and an indirect jump, not a ret: a ret here
 * returns to a call site the return-stack predictor has never seen (the
 * other context's), so it mispredicts on every switch, which measured as
 * two thirds of the switch's cost. The indirect jump is predicted from
 * its history. r11 is caller-saved scratch, free to use. (Neither form is
 * compatible with CET shadow stacks, which Debian does not enable.) */
	.globl	cio__coro_switch_asm
	.hidden	cio__coro_switch_asm
	.type	cio__coro_switch_asm, @function
	.p2align 4
cio__coro_switch_asm:
	.cfi_startproc
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	movq	%rsp, (%rdi)
	movq	%rsi, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	popq	%r11
	jmpq	*%r11
	.cfi_endproc
	.size	cio__coro_switch_asm, .-cio__coro_switch_asm

/* First code to run on a fresh stack. cio__coro_make() leaves the boot
 * function in r12 and its argument in r13, and arranges rsp to be 16-byte
 * aligned here so the call below sees the ABI's alignment. The boot
 * function never returns. rip is marked undefined so debuggers stop the
 * backtrace here instead of walking into garbage. */
	.globl	cio__coro_trampoline
	.hidden	cio__coro_trampoline
	.type	cio__coro_trampoline, @function
	.p2align 4
cio__coro_trampoline:
	.cfi_startproc
	.cfi_undefined rip
	movq	%r13, %rdi
	callq	*%r12
	ud2
	.cfi_endproc
	.size	cio__coro_trampoline, .-cio__coro_trampoline

#endif

	.section .note.GNU-stack, "", @progbits
