// `ouro demo`: placeholder until the demo network lands.
int run_demo(int, char**) { return 0; }
