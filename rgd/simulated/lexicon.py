"""Real words of the simulated world's default subjects, written here (offline, no download).

Per subject of :data:`rgd.config.simulated.DEFAULT_SUBJECTS`: its ``shared`` words (the subject's general
vocabulary, for the templates' ``{s}`` slots) and its ``topics``, in order, each a list of the words of one
latent skill niche, key terms first (the niche's terms recur by rank: :func:`rgd.simulated.vocabulary.zipf_weights`).
A world gives a subject's first niches these topics' words; a subject not named here, or a niche beyond its
topics, gets made-up words. Every word is lower-case letters only, appears once in the whole lexicon and is none
of the templates' own words (``tests/rgd/simulated/test_lexicon.py``), so a niche's words are its own.
"""

from __future__ import annotations

from typing import NamedTuple


class SubjectLexicon(NamedTuple):
    shared: tuple[str, ...]
    topics: tuple[tuple[str, tuple[str, ...]], ...]  # (topic name, its words), in niche order


def _lexicon(shared: str, **topics: str) -> SubjectLexicon:
    return SubjectLexicon(tuple(shared.split()),
                          tuple((name.replace("_", " "), tuple(words.split())) for name, words in topics.items()))


LEXICON: dict[str, SubjectLexicon] = {
    "biology": _lexicon(
        "organism cell species tissue protein membrane organelle biological cellular organisms nucleus "
        "cytoplasm specimen vertebrate invertebrate eukaryote prokaryote biochemical lifecycle trait offspring "
        "molecules biologist inherited",
        molecular_genetics=(
            "dna replication gene enzyme helicase polymerase rna transcription translation chromosome mutation "
            "codon ribosome nucleotide genome allele primase ligase okazaki strand promoter intron exon splicing "
            "telomere histone chromatin plasmid operon anticodon mrna trna sequencing unwinding primer "
            "topoisomerase nuclease methylation epigenetic genotype phenotype heredity"),
        ecology_and_evolution=(
            "evolution selection ecosystem population predator prey habitat adaptation speciation fitness "
            "biodiversity phylogeny drift extinction symbiosis mutualism parasitism trophic succession biome "
            "carrying migration darwin fossil ancestor descent hybrid camouflage pollination keystone invasive "
            "foraging territorial coevolution mimicry niche endemic herbivore carnivore decomposer"),
        animal_physiology=(
            "hormone neuron muscle blood kidney insulin glucose oxygen respiration circulation digestion synapse "
            "reflex hemoglobin artery lung liver endocrine thyroid adrenaline nephron filtration ventricle "
            "capillary plasma pancreas stomach intestine bile cortisol neurotransmitter axon dendrite spinal "
            "thermoregulation secretion gland pituitary osmoregulation"),
        cell_biology=(
            "mitosis meiosis mitochondria photosynthesis chloroplast atp cytoskeleton vesicle lysosome "
            "endoplasmic reticulum golgi apoptosis cytokinesis centromere spindle microtubule receptor signaling "
            "osmosis diffusion glycolysis krebs phospholipid endocytosis exocytosis chlorophyll stomata xylem "
            "phloem vacuole flagellum cilia peroxisome centriole chloroplasts organelles cytosol"),
    ),
    "chemistry": _lexicon(
        "chemical reagent solution solvent concentration element atom atomic bond laboratory mixture substance "
        "molar mole aqueous precipitate compound reaction chemist stoichiometry reactant product dissolved "
        "crystal",
        organic_chemistry=(
            "carbon alkane alkene alkyne benzene aromatic hydrocarbon ester alcohol aldehyde ketone amine "
            "carboxylic functional isomer chirality enantiomer substitution elimination nucleophile electrophile "
            "polymer ethanol methane carbonyl hydroxyl grignard markovnikov stereochemistry racemic cyclohexane "
            "phenol amide ether halide alkyl saponification esterification monomer"),
        physical_chemistry=(
            "entropy enthalpy equilibrium kinetics catalyst activation gibbs thermodynamic exothermic endothermic "
            "calorimetry arrhenius collision spontaneity chatelier vapor boiling freezing colligative osmotic "
            "adsorption reversible spontaneous calorimeter hess rate constant gaseous partial "
            "intermediate catalysis inhibitor sublimation"),
        acids_bases_and_electrochemistry=(
            "acid base ph buffer titration electrolysis redox oxidation reduction anode cathode electrode galvanic "
            "electrolyte ion cation anion salt neutralization hydronium hydroxide conjugate dissociation "
            "indicator voltaic corrosion molarity alkaline amphoteric bronsted acidic basicity pka equivalence "
            "electroplating oxidizing nernst"),
        atomic_structure_and_bonding=(
            "electron orbital valence covalent ionic periodic isotope proton neutron electronegativity lattice "
            "hybridization metallic noble halogen shell dipole hydrogen polarity vsepr sigma resonance octet "
            "ionization alkali lewis electrons orbitals nonpolar lone paramagnetic diamagnetic "
            "aufbau hund configuration"),
    ),
    "physics": _lexicon(
        "force energy motion mass particle physical apparatus measurement physicist vector scalar frame "
        "magnitude newtons joule watt kilogram meter kinematics observer",
        classical_mechanics=(
            "velocity acceleration momentum newton inertia friction torque projectile gravity pendulum orbit "
            "spring oscillation angular rotational centripetal kinetic potential impulse incline trajectory rigid "
            "lever pulley elastic harmonic displacement gravitational conservation satellite "
            "tension buoyancy weight flywheel"),
        electromagnetism=(
            "charge electric magnetic current voltage resistance circuit capacitor inductor coulomb ohm faraday "
            "induction flux conductor insulator magnet solenoid transformer ampere electromagnetic maxwell "
            "dielectric capacitance emf lorentz gauss resistor kirchhoff terminal coil permeability permittivity "
            "generator motor"),
        waves_and_optics=(
            "wave light wavelength frequency interference diffraction refraction reflection lens mirror photon "
            "polarization amplitude sound doppler laser prism spectrum optical focal superposition coherent "
            "standing huygens snell slit fringe intensity hertz echo ultrasound acoustic pitch transverse"),
        thermal_and_modern_physics=(
            "temperature heat thermal relativity radioactive decay fission fusion carnot engine conduction "
            "convection radiation kelvin adiabatic isothermal planck einstein spacetime photoelectric nuclear "
            "halflife neutrino quark boson uncertainty blackbody dilation heisenberg schrodinger tunneling "
            "antimatter cosmic"),
    ),
    "law": _lexicon(
        "court legal statute judge plaintiff defendant ruling rights attorney lawsuit jurisdiction legislation "
        "precedent appeal verdict lawyer litigation counsel jury hearing",
        contracts=(
            "contract offer acceptance consideration breach damages remedy warranty promissory estoppel void "
            "voidable rescission performance tender parol agreement clause liquidated restitution duress "
            "misrepresentation frustration assignment novation expectation reliance offeror offeree "
            "unconscionable bargain repudiation mitigation"),
        criminal_law=(
            "criminal crime murder manslaughter homicide mens rea felony misdemeanor burglary larceny robbery "
            "theft assault battery insanity conspiracy accomplice prosecution indictment sentencing acquittal "
            "miranda arson embezzlement entrapment guilty prosecutor larcenous bail parole accused"),
        constitutional_law=(
            "constitution constitutional amendment freedom equality protection habeas incorporation congress commerce "
            "federal supremacy judicial review executive legislature separation powers fourteenth establishment "
            "religion censorship privacy sovereignty federalism ratification speech filibuster veto"),
        torts_and_property=(
            "tort negligence liability causation injury nuisance trespass defamation property easement landlord "
            "tenant deed mortgage title possession estate covenant zoning lease eviction conveyance freehold "
            "probate bailment libel slander tortfeasor negligent foreseeability"),
    ),
    "economics": _lexicon(
        "market price economy economic demand supply consumer firm goods income profit trade wage revenue "
        "production capital investment economist spending buyers sellers households",
        microeconomics=(
            "elasticity utility marginal monopoly oligopoly surplus shortage substitute complement indifference "
            "budget externality cartel duopoly monopsony deadweight pricing producer opportunity scarcity "
            "diminishing returns competitive monopolist rationing consumption inelastic"),
        macroeconomics=(
            "inflation unemployment gdp recession fiscal monetary interest central bank reserve stimulus deficit "
            "debt taxation keynesian aggregate multiplier deflation stagflation phillips nominal cpi growth "
            "austerity expansion contraction quantitative easing money"),
        international_trade_and_finance=(
            "tariff export import exchange currency comparative advantage quota globalization payments dumping "
            "protectionism devaluation appreciation depreciation forex arbitrage treasury stock dividend portfolio "
            "asset liquidity hedge futures shareholder exporter importer embargo"),
        labor_and_development=(
            "labor unionized union poverty inequality gini development productivity microfinance subsidy welfare "
            "pension employment workforce schooling remittance urbanization agrarian earnings "
            "bargaining strike immigrant developing"),
    ),
    "history": _lexicon(
        "century war empire dynasty revolution treaty king kingdom colonial ancient medieval historian era reign "
        "army battle civilization conquest chronicle emperor queen archive siege",
        ancient_world=(
            "rome roman greece greek athens sparta pharaoh egypt mesopotamia babylon persia persian caesar "
            "republic senate legion gladiator pyramid hieroglyph pericles alexander macedon carthage punic "
            "etruscan sumerian cuneiform hellenistic olympia troy homer augustus nile"),
        medieval_and_early_modern=(
            "feudal feudalism knight serf crusade pope papacy church cathedral monastery charlemagne byzantine "
            "ottoman viking plague renaissance reformation luther protestant catholic carta tudor monarch vassal "
            "manor chivalry guild inquisition habsburg crusader"),
        modern_revolutions_and_world_wars=(
            "napoleon french industrial bolshevik lenin stalin hitler nazi fascism trench versailles armistice "
            "holocaust allied axis blitzkrieg normandy churchill roosevelt mussolini soviet communist totalitarian "
            "curtain berlin hiroshima wartime"),
        colonial_and_american_history=(
            "colony colonies independence slavery abolition confederate lincoln washington jefferson frontier "
            "reconstruction emancipation plantation revolutionary pilgrims mayflower manifest destiny louisiana "
            "gettysburg apartheid decolonization gandhi mughal raj imperialism missionary segregation"),
    ),
    "psychology": _lexicon(
        "behavior cognitive mental psychologist participant psychological experimenter mind emotion personality "
        "introspection motivation psychiatric",
        cognition_and_memory=(
            "memory attention perception recall encoding retrieval sensory schema heuristic bias priming amnesia "
            "forgetting rehearsal chunking hippocampus semantic episodic procedural visual auditory illusion "
            "gestalt reasoning decision"),
        development_and_learning=(
            "conditioning reinforcement piaget infant child childhood adolescence attachment operant classical "
            "pavlov skinner punishment habituation imprinting vygotsky egocentrism toddler bandura modeling "
            "observational"),
        social_psychology=(
            "conformity obedience attitude persuasion stereotype prejudice dissonance attribution bystander "
            "groupthink milgram asch altruism compliance norm ingroup outgroup impression cohesion loafing "
            "zimbardo deindividuation empathy"),
        clinical_psychology=(
            "depression anxiety disorder therapy schizophrenia phobia trauma ptsd bipolar obsessive compulsive "
            "psychotherapy cbt dsm psychosis hallucination delusion mania panic antidepressant serotonin "
            "counseling relapse narcissistic autism adhd"),
    ),
    "engineering": _lexicon(
        "design engineer engineered prototype specification component tolerance efficiency manufacturing "
        "material safety reliability",
        civil_and_structural=(
            "beam column concrete steel truss bridge foundation stress strain shear bending deflection girder "
            "reinforced cantilever buckling modulus seismic soil pile asphalt dam masonry rebar tensile "
            "compressive fatigue"),
        electrical_and_control=(
            "transistor amplifier diode semiconductor signal feedback controller pid sensor actuator oscillator "
            "microcontroller boolean inverter rectifier bandwidth modulation antenna impedance servo stability "
            "laplace bode"),
        mechanical_and_thermal=(
            "turbine pump gear bearing shaft piston compressor combustion fluid flow pipe nozzle valve hydraulic "
            "pneumatic lubrication machining welding boiler radiator exhaust crankshaft gearbox viscosity "
            "turbulence reynolds bernoulli"),
        materials_and_processes=(
            "alloy composite ceramic plastic hardness ductility brittle annealing casting forging extrusion "
            "fiberglass carbide aluminum titanium microstructure grain quenching sintering injection molding "
            "assembly inspection"),
    ),
    "philosophy": _lexicon(
        "philosopher philosophical argument concept thesis premise objection principle doctrine rationality worldview "
        "thinker metaphilosophy",
        ethics=(
            "moral morality virtue utilitarian utilitarianism kant kantian deontology consequentialism "
            "categorical imperative happiness aristotle mill bentham obligation permissible wrongness goodness "
            "egoism relativism trolley justice fairness rawls"),
        epistemology=(
            "knowledge belief justification skepticism empiricism rationalism descartes hume locke certainty "
            "gettier foundationalism coherentism inductive deductive priori posteriori evidence doubt cogito "
            "innate sensation"),
        metaphysics_and_mind=(
            "existence monism causality free will determinism consciousness dualism materialism physicalism "
            "soul qualia zombie leibniz spinoza ontology universals nominalism essence modal necessity contingent "
            "idealism berkeley"),
        logic_and_language=(
            "logic logical validity syllogism fallacy proposition predicate quantifier inference paradox meaning "
            "referent frege russell wittgenstein truth tautology contradiction modus ponens tollens sentential "
            "denotation connotation"),
    ),
    "health": _lexicon(
        "patient disease treatment clinical medical healthcare physician symptom diagnosis hospital care nurse "
        "chronic wellness",
        infectious_disease_and_immunity=(
            "infection virus bacteria vaccine antibiotic immunity antibody antigen pathogen fever pandemic "
            "epidemic influenza hiv tuberculosis malaria sepsis immunization lymphocyte inflammation contagious "
            "transmission quarantine outbreak incubation measles"),
        cardiovascular_and_metabolic=(
            "hypertension cholesterol diabetes obesity stroke cardiac arrhythmia angina infarction "
            "atherosclerosis statin lipid triglyceride coronary thrombosis anticoagulant aspirin bmi glycemic "
            "metformin heart pressure"),
        nutrition_and_lifestyle=(
            "diet nutrition vitamin mineral calorie dietary sodium calcium exercise sleep smoking deficiency "
            "supplement hydration carbohydrate anemia scurvy rickets folate malnutrition fasting"),
        pharmacology=(
            "drug dose dosage pharmacokinetics overdose toxicity prescription opioid analgesic placebo trial "
            "efficacy contraindication metabolite clearance bioavailability agonist antagonist ibuprofen "
            "acetaminophen penicillin adverse"),
    ),
    "math": _lexicon(
        "number equation function proof theorem variable integer formula mathematical expression "
        "mathematician lemma",
        calculus_and_analysis=(
            "derivative integral limit continuity differentiable series convergence sequence taylor calculus "
            "tangent slope maximum minimum asymptote riemann antiderivative logarithm exponential chain "
            "divergent"),
        algebra=(
            "matrix eigenvalue determinant linear polynomial root quadratic group ring homomorphism isomorphism "
            "subgroup permutation inverse rank kernel basis dimension eigenvector abelian"),
        probability_and_statistics=(
            "probability random distribution mean variance expected deviation binomial poisson hypothesis "
            "regression bayes estimator confidence interval median correlation outcome dice coin"),
        geometry_and_number_theory=(
            "triangle circle angle polygon area volume perimeter hypotenuse pythagorean congruent prime divisor "
            "modular gcd factorization parity fibonacci diophantine euclid coordinate parabola ellipse"),
    ),
    "computer_science": _lexicon(
        "algorithm program hardware software data code computation runtime processor compiler programmer "
        "computing",
        algorithms_and_data_structures=(
            "sorting array tree graph hash heap stack queue recursion complexity memoization greedy binary search "
            "traversal pointer linked quicksort mergesort dijkstra bfs dfs node edge"),
        systems_and_networks=(
            "operating process thread scheduler deadlock cache virtual paging interrupt network protocol tcp "
            "packet latency socket dns http server client firewall encryption mutex semaphore filesystem"),
        theory_of_computation=(
            "turing automaton regex grammar decidable halting np nondeterministic recognizer alphabet pushdown "
            "computability undecidable lambda reducibility recursive enumerable kleene rice cook satisfiability finite "
            "transducer"),
        machine_learning_and_databases=(
            "neural classifier gradient overfitting regularization dataset sql query database index transaction "
            "relational join normalization clustering backpropagation perceptron embedding convolutional "
            "supervised unsupervised epoch"),
    ),
}
