# The test cases: each runs vboard on one test program and checks exit status and output.
set(F ${VBT_OUT})
vbt_case(regs
    CHECKS --expect "^ALL PASS" --reject "FAIL" --expect "HCLK 180000000 Hz"
    ARGS --flash ${F}/regs.flash --fresh --load ${F}/t_regs.elf --stop-on "ALL PASS"
         --timeout-ms 2000)
